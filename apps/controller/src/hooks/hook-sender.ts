import {
  GauntletError,
  hookSecretPrefix,
  type HookDelivery,
  type HookEvent,
  type HookPayload,
} from '@gauntlet/contracts'
import { egressRequest, type AllowList } from '@gauntlet/http'
import { createHmac } from 'node:crypto'

/**
 * A hook as the run uses it: units resolved, the secret still a reference (`${GAUNTLET_SECRET_*}`, read when it fires).
 */
export interface Hook {
  url: string
  secret?: string
  timeoutMs: number
  retries: number
}

/** What a delivery needs besides the hook: the egress allow-list, the environment, and the run's stop. */
interface HookDeliveryOptions {
  /** GAUNTLET_HOOK_ALLOW: checked again on the address actually connected to. */
  allow: AllowList
  env?: NodeJS.ProcessEnv
  /** Aborted: pending retries are dropped and an attempt in flight is cancelled. */
  signal?: AbortSignal
}

const signatureHeader = 'x-gauntlet-signature'

export const secretNotSet = "the hook's secret reference is not set; not sent unsigned"
const stoppedBeforeSent = 'not sent: the run was stopped'
export const stoppedInFlight = 'cancelled: the run was stopped'

/** `sha256=<hex HMAC-SHA256 of the body>`: what a receiver recomputes with the shared secret. */
export function sign(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/**
 * "${GAUNTLET_SECRET_NAME}" reads that variable; anything else (a literal, another variable) resolves
 * to nothing. Validation refuses those already; this keeps a hook from ever reading the API token.
 */
export function resolveSecret(secret: string, env: NodeJS.ProcessEnv): string | undefined {
  const reference = /^\$\{([A-Za-z0-9_]+)\}$/.exec(secret)
  const name = reference?.[1]
  if (!name?.startsWith(hookSecretPrefix) || name.length === hookSecretPrefix.length) return undefined
  return env[name] || undefined
}

/**
 * POSTs the event as JSON through the egress allow-list, signed when the hook has a secret, with a
 * timeout per attempt and retries with backoff (250 ms doubling) on network errors, timeouts, 5xx, 408
 * and 429. Redirects are not followed: a 3xx is a failed attempt. Every attempt is recorded with its
 * status or the class of its error, never the receiver's body.
 */
export async function deliverHook(
  event: HookEvent,
  hook: Hook,
  payload: HookPayload,
  options: HookDeliveryOptions,
): Promise<HookDelivery> {
  const { allow, env = process.env, signal } = options
  const delivery: HookDelivery = {
    event,
    url: hook.url,
    ...(payload.step !== undefined ? { step: payload.step } : {}),
    delivered: false,
    attempts: [],
  }
  const body = JSON.stringify(payload)
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-gauntlet-event': event }
  if (hook.secret !== undefined) {
    const secret = resolveSecret(hook.secret, env)
    if (secret === undefined) {
      // The variable's name stays out of the record: records are readable by more people than the environment.
      delivery.attempts.push({ at: new Date().toISOString(), ms: 0, error: secretNotSet })
      return delivery
    }
    headers[signatureHeader] = sign(body, secret)
  }
  for (let attempt = 0; attempt <= hook.retries; attempt++) {
    if (attempt > 0) await wait(250 * 2 ** (attempt - 1), signal)
    if (signal?.aborted) {
      delivery.attempts.push({ at: new Date().toISOString(), ms: 0, error: stoppedBeforeSent })
      return delivery
    }
    const started = performance.now()
    const at = new Date().toISOString()
    const elapsed = (): number => Math.round(performance.now() - started)
    try {
      // The receiver's body is never read: nothing it says can reach a stored record.
      const response = await egressRequest(hook.url, {
        allow,
        method: 'POST',
        headers,
        body,
        timeoutMs: hook.timeoutMs,
        maxResponseBytes: 0,
        ...(signal ? { signal } : {}),
      })
      delivery.attempts.push({ at, ms: elapsed(), status: response.status })
      if (response.status >= 200 && response.status < 300) {
        delivery.delivered = true
        return delivery
      }
      // A redirect or a refusal (4xx) will be the same next time.
      if (response.status < 500 && response.status !== 408 && response.status !== 429) return delivery
    } catch (error) {
      delivery.attempts.push({
        at,
        ms: elapsed(),
        error: signal?.aborted ? stoppedInFlight : errorClass(error, hook.timeoutMs),
      })
      if (signal?.aborted || error instanceof GauntletError) return delivery
    }
  }
  return delivery
}

/** What went wrong, in a few words of our own (the allow-list refusal, a timeout, a socket error code). */
function errorClass(error: unknown, timeoutMs: number): string {
  if (error instanceof GauntletError) return error.message
  const code =
    (error as NodeJS.ErrnoException).code ?? ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ABORT_ERR' || /no answer within/.test((error as Error).message))
    return `no answer within ${timeoutMs}ms`
  return code ? `network error ${code}` : 'network error'
}

/** Resolves after `ms`, or at once when the signal aborts. */
function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
