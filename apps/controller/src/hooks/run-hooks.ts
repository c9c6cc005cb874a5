import type { HookDelivery, HookEvent, HookPayload } from '@gauntlet/contracts'
import { deliverHook, type Hook } from './hook-sender.js'

/** The hooks of one run: fired without holding the run up, each delivery kept for the summary. */
export class RunHooks {
  private readonly pending: Array<Promise<HookDelivery>> = []

  constructor(
    private readonly hooks: Partial<Record<HookEvent, Hook[]>>,
    private readonly base: { run: string; scenario: string },
  ) {}

  get any(): boolean {
    return Object.values(this.hooks).some((list) => (list?.length ?? 0) > 0)
  }

  has(event: HookEvent): boolean {
    return (this.hooks[event]?.length ?? 0) > 0
  }

  /** Fires every hook of `event`; resolves once they are delivered or given up. */
  fire(event: HookEvent, extra: Omit<HookPayload, 'event' | 'run' | 'scenario' | 'at'> = {}): Promise<HookDelivery[]> {
    const payload: HookPayload = { event, ...this.base, at: new Date().toISOString(), ...extra }
    const deliveries = (this.hooks[event] ?? []).map((hook) => deliverHook(event, hook, payload))
    this.pending.push(...deliveries)
    return Promise.all(deliveries)
  }

  /** Every delivery so far, once each has finished. */
  async settled(): Promise<HookDelivery[]> {
    return Promise.all(this.pending)
  }
}
