import { maxAgentReportBytes, maxHeartbeatRuns } from '@gauntlet/contracts'

/** A report's place at the gate. */
export interface GateTicket {
  /** Settles once the report may be read and handled (never, if done() came first). */
  ready: Promise<void>
  /** The report was answered or its connection closed: what it held (or its place in the queue) is given up. Idempotent. */
  done: () => void
}

export interface ReportGateOptions {
  /** Reports let in per turn of the event loop: the work of one turn stays short. */
  perTurn: number
  /** Bytes (declared) let in per turn, the first report of a turn whatever its size: a report of 20 windows is 20 windows' work. */
  perTurnBytes: number
  /** Reports of one agent in progress at once (let in and not yet answered). */
  perAgent: number
  /** Reports of one agent waiting at once; beyond, enter() refuses (the route answers 429). */
  waitingPerAgent: number
  /** Bytes of bodies in progress at once (by their declared length): what reports can make the controller hold. */
  bytes: number
}

/** The controller's gate for agents' reports. */
export const agentReportGate: ReportGateOptions = {
  // Few enough that a turn stays near a millisecond under a backlog, enough to keep the loop busy.
  perTurn: 4,
  // About 4 one-window reports (~1.5 KB each); one report of 20 windows is a turn's work.
  perTurnBytes: 8 * 1024,
  // A real agent sends one report at a time for each of its runs.
  perAgent: 1,
  // An agent carries at most this many runs (its heartbeat lists them), each with a report in flight.
  waitingPerAgent: maxHeartbeatRuns,
  // What 32 reports of the largest legal size declare: typical reports (kilobytes) never wait for it.
  bytes: 32 * maxAgentReportBytes,
}

/**
 * Agents' reports wait here once their signature is checked and before their body is read. At most
 * `perTurn` (and `perTurnBytes`) are let in per turn of the event loop, in arrival order: the turn that reads,
 * checks and merges them stays short, so the loop comes back to its sockets often. That matters beyond the reports:
 * libuv accepts one new connection per turn of the loop (libuv 1.45, "unix: don't accept() connections
 * in a loop"), so with 200 agents pushing a backlog in turns of 20-70 ms, a heartbeat on a new connection
 * waited in the kernel's accept queue for up to a second (and timed out, and the next one opened another).
 *
 * A report holds nothing while it waits, and once let in holds only its declared bytes (within `bytes`
 * for all of them) and its agent's turn: a slow upload delays its own agent, never the others, until
 * slow uploads declare `bytes` between them. An agent has at most `perAgent` reports in progress; more
 * wait behind them without holding up other agents, up to `waitingPerAgent`.
 */
export class ReportGate {
  private readonly waiting: Array<{ agent: string; bytes: number; admit: () => void }> = []
  private readonly inProgress = new Map<string, number>()
  private readonly waitingOf = new Map<string, number>()
  private bytesInProgress = 0
  private admittedThisTurn = 0
  private bytesThisTurn = 0
  private scheduled = false

  constructor(readonly options: ReportGateOptions = agentReportGate) {}

  /** Reports in progress and waiting, and the bytes they declared (for /metrics and tests). */
  get load(): { active: number; waiting: number; bytes: number } {
    let active = 0
    for (const n of this.inProgress.values()) active += n
    return { active, waiting: this.waiting.length, bytes: this.bytesInProgress }
  }

  /** A place for a report of `agent` declaring `bytes`; undefined when that agent already has too many waiting. */
  enter(agent: string, bytes: number): GateTicket | undefined {
    if ((this.waitingOf.get(agent) ?? 0) >= this.options.waitingPerAgent) return undefined
    let state: 'waiting' | 'admitted' | 'done' = 'waiting'
    let admit!: () => void
    const ready = new Promise<void>((resolve) => {
      admit = () => {
        state = 'admitted'
        this.inProgress.set(agent, (this.inProgress.get(agent) ?? 0) + 1)
        this.bytesInProgress += bytes
        this.admittedThisTurn++
        this.bytesThisTurn += bytes
        this.schedule()
        resolve()
      }
    })
    const entry = { agent, bytes, admit }
    const done = (): void => {
      if (state === 'admitted') {
        const left = this.inProgress.get(agent)! - 1
        if (left === 0) this.inProgress.delete(agent)
        else this.inProgress.set(agent, left)
        this.bytesInProgress -= bytes
        this.schedule()
      } else if (state === 'waiting') {
        const at = this.waiting.indexOf(entry)
        if (at >= 0) {
          this.waiting.splice(at, 1)
          this.unwait(agent)
        }
      }
      state = 'done'
    }
    // Nobody waiting before it and room now: straight in.
    if (this.waiting.length === 0 && this.turnHasRoom() && this.fits(entry)) admit()
    else {
      this.waiting.push(entry)
      this.waitingOf.set(agent, (this.waitingOf.get(agent) ?? 0) + 1)
      this.schedule()
    }
    return { ready, done }
  }

  private turnHasRoom(): boolean {
    return (
      this.admittedThisTurn === 0 ||
      (this.admittedThisTurn < this.options.perTurn && this.bytesThisTurn < this.options.perTurnBytes)
    )
  }

  private fits(entry: { agent: string; bytes: number }): boolean {
    if ((this.inProgress.get(entry.agent) ?? 0) >= this.options.perAgent) return false
    // One report always fits, however large (its size is bounded by the route's body limit).
    return this.bytesInProgress === 0 || this.bytesInProgress + entry.bytes <= this.options.bytes
  }

  private unwait(agent: string): void {
    const left = this.waitingOf.get(agent)! - 1
    if (left === 0) this.waitingOf.delete(agent)
    else this.waitingOf.set(agent, left)
  }

  /**
   * The next turn (setImmediate: after the loop has polled its sockets) starts a new count and lets in
   * waiting reports, in arrival order, passing over those whose agent already has its reports in progress.
   */
  private schedule(): void {
    if (this.scheduled || (this.waiting.length === 0 && this.admittedThisTurn === 0)) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.admittedThisTurn = 0
      this.bytesThisTurn = 0
      for (let i = 0; i < this.waiting.length && this.turnHasRoom();) {
        const entry = this.waiting[i]!
        if (this.fits(entry)) {
          this.waiting.splice(i, 1)
          this.unwait(entry.agent)
          entry.admit()
        } else if ((this.inProgress.get(entry.agent) ?? 0) >= this.options.perAgent) i++
        // The bytes do not fit: later reports wait behind it, or a large report could wait for ever.
        else break
      }
      this.schedule()
    })
  }
}
