import { Type, type Static } from '#typebox'
import { DurationText, withHint } from './duration-text.js'
import type { RootCause } from './root-cause.js'

/** Moments of a run that can notify another system (a deployment system expanding a canary, say). */
export const hookEvents = ['preStep', 'onAdvance', 'onHold', 'onRollback', 'postRun'] as const
export type HookEvent = (typeof hookEvents)[number]

/**
 * The environment variables a hook secret may name: a scenario must not be able to read any other (the API token, say).
 */
export const hookSecretPrefix = 'GAUNTLET_SECRET_'

/**
 * A secret is never written into a scenario (scenarios are stored and shown); it is a reference read when the hook
 * fires.
 */
const HookSecretReference = withHint(
  Type.String({
    pattern: `^\\$\\{${hookSecretPrefix}[A-Za-z0-9_]+\\}$`,
    description:
      `HMAC-SHA256 key for the X-Gauntlet-Signature header, as a reference "\${${hookSecretPrefix}NAME}" to an ` +
      `environment variable of the controller (or of \`gauntlet run\`), read when the hook fires. Literal ` +
      `secrets and other variables are refused.`,
    examples: [`\${${hookSecretPrefix}ROLLBACK}`],
  }),
  `a hook secret is a reference "\${${hookSecretPrefix}NAME}" to an environment variable starting ` +
    `with ${hookSecretPrefix}; literal secrets and other variables are refused`,
)

const HookSchema = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL that receives a JSON POST.' }),
    secret: Type.Optional(HookSecretReference),
    timeout: Type.Optional(DurationText),
    retries: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10,
        description: 'Further attempts after a failure (default 3), with backoff doubling from 250ms.',
      }),
    ),
  },
  { additionalProperties: false },
)

const HookList = Type.Optional(Type.Array(HookSchema, { maxItems: 10 }))

export const HooksSchema = Type.Object(
  { preStep: HookList, onAdvance: HookList, onHold: HookList, onRollback: HookList, postRun: HookList },
  { additionalProperties: false, description: 'HTTP POSTs of a JSON event at moments of the run.' },
)
export type HooksDocument = Static<typeof HooksSchema>

/** What a hook receives (the POST body). */
export interface HookPayload {
  event: HookEvent
  run: string
  scenario: string
  at: string
  step?: number
  /** The decisions behind an advance or a rollback, with their evidence. */
  decisions?: unknown[]
  /** The guard that tripped (onRollback) and why, in words. */
  guard?: string
  reason?: string
  verdict?: string
  status?: string
  /** onRollback and postRun of a run with faults or a tripped guard: timeline, impact and ranked suspects. */
  rootCause?: RootCause
  /** Where the run's HTML report opens (a controller started with --public-url). */
  reportUrl?: string
}

/** Every attempt of one hook delivery, for the summary. */
export interface HookDelivery {
  event: HookEvent
  url: string
  step?: number
  delivered: boolean
  attempts: Array<{ at: string; ms: number; status?: number; error?: string }>
}
