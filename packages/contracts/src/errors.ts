/**
 * The one error type of Gauntlet. Every failure that reaches a user carries a code from this list;
 * the maps below are total, so adding a code forces a decision about its HTTP status and exit code.
 */
export const errorCodes = [
  'invalid_scenario',
  'usage',
  'not_found',
  'conflict',
  'unauthorized',
  'target_not_allowed',
  /** A Host header, or a URL outside an allow-list (hooks, target metrics, agents). */
  'forbidden',
  'unsupported_media_type',
  /** The Accept header names no format the resource has. */
  'not_acceptable',
  'payload_too_large',
  /** A cap is reached (runs, schedules, agents, event streams). */
  'too_many',
  'target_unreachable',
  'storage',
  'unsupported',
  'fault_failed',
  'internal',
] as const

export type ErrorCode = (typeof errorCodes)[number]

/** Documented CLI exit codes (README, "Exit codes"). */
export const ExitCode = {
  passed: 0,
  thresholdFailed: 1,
  invalidInput: 2,
  couldNotRun: 3,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

export const httpStatusByCode: Record<ErrorCode, number> = {
  invalid_scenario: 400,
  usage: 400,
  not_found: 404,
  conflict: 409,
  unauthorized: 401,
  target_not_allowed: 403,
  forbidden: 403,
  unsupported_media_type: 415,
  not_acceptable: 406,
  payload_too_large: 413,
  too_many: 429,
  target_unreachable: 502,
  storage: 500,
  /** The host cannot do what was asked (a kernel without sch_netem, say). */
  unsupported: 422,
  /** A tc/iptables command failed or did not read back as applied. */
  fault_failed: 502,
  internal: 500,
}

export const exitCodeByCode: Record<ErrorCode, ExitCode> = {
  invalid_scenario: ExitCode.invalidInput,
  usage: ExitCode.invalidInput,
  not_found: ExitCode.invalidInput,
  conflict: ExitCode.couldNotRun,
  unauthorized: ExitCode.couldNotRun,
  target_not_allowed: ExitCode.invalidInput,
  forbidden: ExitCode.invalidInput,
  unsupported_media_type: ExitCode.invalidInput,
  not_acceptable: ExitCode.invalidInput,
  payload_too_large: ExitCode.invalidInput,
  too_many: ExitCode.couldNotRun,
  target_unreachable: ExitCode.couldNotRun,
  storage: ExitCode.couldNotRun,
  unsupported: ExitCode.couldNotRun,
  fault_failed: ExitCode.couldNotRun,
  internal: ExitCode.couldNotRun,
}

/** One located problem in user input. `line`/`column` are 1-based positions in the source file. */
export interface Problem {
  path: string
  message: string
  line?: number
  column?: number
}

/** Records a problem at a JSON-pointer path of the input; validators collect them all, then refuse once. */
export type ReportProblem = (path: string, message: string) => void

export class GauntletError extends Error {
  readonly code: ErrorCode
  readonly problems: Problem[]
  /** The file the problems are in, when they come from one. */
  readonly source: string | undefined

  constructor(
    code: ErrorCode,
    message: string,
    options: { problems?: Problem[]; source?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'GauntletError'
    this.code = code
    this.problems = options.problems ?? []
    this.source = options.source
  }

  get httpStatus(): number {
    return httpStatusByCode[this.code]
  }

  get exitCode(): ExitCode {
    return exitCodeByCode[this.code]
  }
}

/** Anything thrown that is not a GauntletError is an internal error; its message stays out of user output. */
export function toGauntletError(error: unknown): GauntletError {
  if (error instanceof GauntletError) return error
  return new GauntletError('internal', 'internal error', { cause: error })
}
