import { GauntletError, type FaultSpec, type FaultTarget } from '@gauntlet/contracts'
import type { EngineView } from '@gauntlet/agent'
import type { EngineInventory, FaultEngine, FaultReport, PrepareOptions, RevertOptions } from '@gauntlet/faults'

/**
 * A FaultEngine over pretend containers, for routing tests: it holds faults in memory, refuses targets
 * it does not have as the real engine does (404 "no container"), and records every call. The real
 * engine is tested on a real Docker engine in test/docker.
 */
export class FakeFaultEngine implements FaultEngine, EngineView {
  readonly calls: Array<{ op: string; id?: string; at?: number; warm?: boolean }> = []
  private readonly active = new Map<string, FaultReport>()
  private readonly reverted = new Map<string, FaultReport>()

  constructor(
    /** Running containers, with their compose service. */
    private readonly containers: Record<string, { service?: string }>,
  ) {}

  get applied(): string[] {
    return this.calls.filter((c) => c.op === 'apply').map((c) => c.id!)
  }

  recover(): Promise<string[]> {
    this.calls.push({ op: 'recover' })
    return Promise.resolve([])
  }

  targetNames(target: FaultTarget): Promise<string[]> {
    const names = Object.entries(this.containers)
      .filter(
        ([name, c]) => name === target.container || (target.service !== undefined && c.service === target.service),
      )
      .map(([name]) => name)
    if (names.length === 0) {
      const what = target.container
        ? `no container "${target.container}"`
        : `no running container with ${JSON.stringify(target)}`
      return Promise.reject(new GauntletError('not_found', what))
    }
    return Promise.resolve(names)
  }

  inventory(): Promise<EngineInventory> {
    const services = [...new Set(Object.values(this.containers).flatMap((c) => (c.service ? [c.service] : [])))]
    return Promise.resolve({ containers: Object.keys(this.containers).length, services: services.sort(), labels: [] })
  }

  async prepare(spec: FaultSpec, options: PrepareOptions = {}): Promise<FaultSpec> {
    this.calls.push({ op: 'prepare', id: spec.id, warm: options.warm ?? true })
    await this.targetNames(spec.target)
    return { ...spec, mechanism: spec.mechanism === 'auto' ? 'proxy' : spec.mechanism }
  }

  async apply(spec: FaultSpec, untilEpochMs = Date.now() + spec.durationMs): Promise<FaultReport> {
    this.calls.push({ op: 'apply', id: spec.id })
    if (this.active.has(spec.id)) throw new GauntletError('conflict', `fault ${spec.id} is already active`)
    const report: FaultReport = {
      id: spec.id,
      type: spec.type,
      mechanism: spec.mechanism,
      targets: await this.targetNames(spec.target),
      appliedAt: new Date().toISOString(),
      untilAt: new Date(untilEpochMs).toISOString(),
      revertedAt: null,
      revertVerified: false,
      injector: 'host',
      notes: [],
    }
    this.active.set(spec.id, report)
    return report
  }

  /** Like the real engine: a proxy delay announces its drain (beforeDrain) before it ends; a second call gets the same report. */
  async revert(id: string, reason: string, options: RevertOptions = {}): Promise<FaultReport> {
    this.calls.push({ op: 'revert', id })
    const done = this.reverted.get(id)
    if (done) return done
    const report = this.active.get(id)
    if (!report) throw new GauntletError('not_found', `no active fault ${id}`)
    if (report.mechanism === 'proxy') {
      this.calls.push({ op: 'bypassed', id, at: Date.now() })
      await options.beforeDrain?.()
      this.calls.push({ op: 'drained', id, at: Date.now() })
    }
    this.active.delete(id)
    const reverted = {
      ...report,
      revertedAt: new Date().toISOString(),
      revertVerified: true,
      notes: [`reverted: ${reason}`],
    }
    this.reverted.set(id, reverted)
    return reverted
  }

  async revertAll(reason: string): Promise<FaultReport[]> {
    return Promise.all([...this.active.keys()].map((id) => this.revert(id, reason)))
  }

  list(): Promise<FaultReport[]> {
    return Promise.resolve([...this.active.values()])
  }
}
