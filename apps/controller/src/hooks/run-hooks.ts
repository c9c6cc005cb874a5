import type { HookDelivery, HookEvent, HookPayload } from '@gauntlet/contracts'
import type { AllowList } from '@gauntlet/http'
import { deliverHook, type Hook } from './hook-sender.js'

/** How long onRollback and postRun may still take, in all, once a run is stopped (--hook-grace). */
export const defaultHookGraceMs = 10_000

/** The events a stopping run still owes its receivers: a rollback to announce, a verdict to report. */
const owedOnStop: ReadonlySet<HookEvent> = new Set(['onRollback', 'postRun'])

interface RunHooksOptions {
  /** GAUNTLET_HOOK_ALLOW. */
  allow: AllowList
  env?: NodeJS.ProcessEnv
  /** The grace onRollback and postRun get once the run is stopped; default 10 s. */
  graceMs?: number
}

/**
 * The hooks of one run: fired without holding the run up, each delivery kept for the summary.
 * Stopping the run (`stop()`) cancels every other delivery at once, pending retries and attempts in
 * flight; onRollback and postRun (even those fired later) share one grace period, then are cancelled too.
 */
export class RunHooks {
  private readonly pending: Array<Promise<HookDelivery>> = []
  /** Aborted when the run stops. */
  private readonly stopped = new AbortController()
  /** Aborted when the grace after the stop has passed. */
  private readonly graceOver = new AbortController()
  private graceTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly hooks: Partial<Record<HookEvent, Hook[]>>,
    private readonly base: { run: string; scenario: string },
    private readonly options: RunHooksOptions,
  ) {}

  get any(): boolean {
    return Object.values(this.hooks).some((list) => (list?.length ?? 0) > 0)
  }

  has(event: HookEvent): boolean {
    return (this.hooks[event]?.length ?? 0) > 0
  }

  /** Fires every hook of `event`; resolves once they are delivered, given up or cancelled. */
  fire(event: HookEvent, extra: Omit<HookPayload, 'event' | 'run' | 'scenario' | 'at'> = {}): Promise<HookDelivery[]> {
    const payload: HookPayload = { event, ...this.base, at: new Date().toISOString(), ...extra }
    const signal = owedOnStop.has(event) ? this.graceOver.signal : this.stopped.signal
    const deliveries = (this.hooks[event] ?? []).map((hook) =>
      deliverHook(event, hook, payload, {
        allow: this.options.allow,
        signal,
        ...(this.options.env ? { env: this.options.env } : {}),
      }),
    )
    this.pending.push(...deliveries)
    return Promise.all(deliveries)
  }

  /** The run is being stopped: cancel what it no longer needs and start the grace of the rest. Idempotent. */
  stop(): void {
    if (this.stopped.signal.aborted) return
    this.stopped.abort()
    this.graceTimer = setTimeout(() => this.graceOver.abort(), this.options.graceMs ?? defaultHookGraceMs)
  }

  /** Every delivery so far, once each has finished. */
  async settled(): Promise<HookDelivery[]> {
    try {
      return await Promise.all(this.pending)
    } finally {
      clearTimeout(this.graceTimer)
    }
  }
}
