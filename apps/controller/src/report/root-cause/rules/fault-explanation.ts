import type { ErrorClass, FaultRecord, FaultSpan, FaultSpec } from '@gauntlet/contracts'

/** What a fault rule knows about one fault. */
export interface FaultFacts {
  span: FaultSpan
  record?: FaultRecord
  /** Its parameters, when the caller passed the scenario's plan. */
  spec?: FaultSpec
  requestTimeoutMs?: number
  /** The prefault baseline's p50 (ms): the base latency a delay adds to. */
  baseP50Ms: number | null
}

/** What a fault's mechanism can do to requests: the error classes it causes, and whether it raises latency. */
export interface FaultExplanation {
  errors: ErrorClass[]
  latency: boolean
  /** One line: why it is suspected. */
  reason: string
  /** Lines about its parameters (or what was not stored to check them). */
  evidence: string[]
}
