/** A report's place at the gate. */
export interface GateTicket {
  /** Settles once the report may be read and handled (never, if done() came first). */
  ready: Promise<void>
  /** The report was answered or its connection closed: its slot (or its place in the queue) is given up. Idempotent. */
  done: () => void
}

/**
 * Agents' reports wait here once their signature is checked and before their body is read, so that at
 * most `slots` are parsed, checked, stored and merged at once. The rest wait unread (their bytes stay in
 * their sockets) and are let in, in arrival order, a turn of the event loop after slots free up. A
 * 200-agent backlog then costs each turn a bounded amount of work, and the heartbeats, /healthz and new
 * connections behind it are served in the next turn instead of after every report that arrived before them.
 */
export class ReportGate {
  private active = 0
  private readonly waiting: Array<{ admit: () => void }> = []
  private scheduled = false

  constructor(private readonly slots: number) {}

  /** Reports being handled now, and waiting (for /metrics and tests). */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length }
  }

  enter(): GateTicket {
    let state: 'waiting' | 'admitted' | 'done' = 'waiting'
    let admit!: () => void
    const ready = new Promise<void>((resolve) => {
      admit = () => {
        state = 'admitted'
        this.active++
        resolve()
      }
    })
    const entry = { admit }
    const done = (): void => {
      if (state === 'admitted') {
        this.active--
        this.schedule()
      } else if (state === 'waiting') {
        const at = this.waiting.indexOf(entry)
        if (at >= 0) this.waiting.splice(at, 1)
      }
      state = 'done'
    }
    // Nobody waiting before it and a slot free: straight in.
    if (this.waiting.length === 0 && this.active < this.slots) admit()
    else {
      this.waiting.push(entry)
      this.schedule()
    }
    return { ready, done }
  }

  /** Lets waiting reports into free slots on the next turn (setImmediate), after the loop has polled its sockets. */
  private schedule(): void {
    if (this.scheduled || this.waiting.length === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      while (this.active < this.slots && this.waiting.length > 0) this.waiting.shift()!.admit()
    })
  }
}
