import type { FaultDocument, FaultSpec, FaultType, ReportProblem } from '@gauntlet/contracts'

/**
 * What one fault type is: the parameters it takes and their checks, how it picks its mechanism and
 * what the kernel must have for it, and its plan. Each type is one module in this folder, listed once
 * in registry.ts; everything outside reaches a type through the registry, never by its name.
 * (The units and what they share live in this folder: the rest of src imports them, so they import
 * nothing from it — dependency-cruiser forbids folder cycles.)
 */
export interface FaultTypeUnit {
  readonly type: FaultType
  /** The document parameters it takes besides those every fault has; any other is an error. */
  readonly params: readonly FaultParam[]
  /** The one it cannot do without, if any. */
  readonly required?: FaultParam
  /** The mechanisms it can run by; preflight refuses any other. */
  readonly mechanisms: readonly Mechanism[]
  /**
   * Checks its own parameters of a schema-valid document, reporting each problem at its field
   * ('latency', 'peers/1'; '' is the fault itself), and returns the spec fields they give: units
   * resolved, the mechanism as written (`auto` stays for preflight). `port` and `peer` are the loader's.
   */
  build(doc: FaultDocument, problem: ReportProblem): TypeFields
  /** The mechanism on a kernel that has (or lacks) `qdisc`: `auto` resolved. Throws when the spec cannot run so on any kernel. */
  decide(spec: FaultSpec, has: (qdisc: Qdisc) => boolean): FaultSpec['mechanism']
  /** What the kernel must have for the spec's (decided) mechanism. */
  needs(spec: FaultSpec): KernelNeeds
  /** Pure: the commands, as argument arrays, for a spec whose mechanism is decided. */
  plan(spec: FaultSpec, ctx: PlanContext): FaultPlan
}

/** Every key of a fault document but those every fault has (type, target, at, atStep, duration). */
export type FaultParam = Exclude<keyof FaultDocument, 'type' | 'target' | 'at' | 'atStep' | 'duration'>
export type Mechanism = Exclude<FaultSpec['mechanism'], 'auto'>
export type TypeFields = Pick<FaultSpec, 'mechanism'> &
  Partial<Omit<FaultSpec, 'id' | 'type' | 'target' | 'durationMs' | 'mechanism' | 'port' | 'peer'>>

/** Names as in the kernel probe's KernelSupport (preflight.ts maps one onto the other). */
export type Qdisc = 'netem' | 'tbf' | 'htb'
export type IptablesExtension = 'statistic' | 'reject' | 'redirect' | 'time' | 'comment'
export interface KernelNeeds {
  qdiscs?: Qdisc[]
  iptables?: IptablesExtension[]
  /** What to use instead when the kernel lacks one of them. */
  instead?: string
}

/**
 * The tc and iptables commands of one fault, as argument arrays to run inside the target's network
 * namespace. Everything Gauntlet creates is marked: the root qdisc handle 7a47:, chains named
 * GNT-<hash>-IN/OUT, and rules commented gauntlet:<id>, so revert and recovery touch nothing else.
 */
export type Command = readonly string[]

export interface FaultPlan {
  apply: Command[]
  /** Proxy delay: what stops new connections from reaching the proxy while open ones finish. */
  drain?: Command[]
  /** Explicit undo of `apply`, in order; each may fail harmlessly when already gone. */
  revert: Command[]
  /** What a read-back must show while applied: a qdisc handle and/or rule comments. */
  marks: { qdisc: boolean; rules: boolean }
}

export interface PlanContext {
  /** The interface that carries the container's address. */
  iface: string
  /** Epoch ms when the fault ends: iptables rules stop matching then even if nobody reverts them. */
  untilEpochMs: number
  /** Proxy delay: the port the latency proxy listens on inside the namespace. */
  proxyPort?: number
}
