import type { HookDelivery, HookEvent, HookPayload } from '@gauntlet/contracts'
import { createHmac } from 'node:crypto'

/** A hook as the run uses it: units resolved, the secret still as written (`${VAR}` resolved when it fires). */
export interface Hook {
  url: string
  secret?: string
  timeoutMs: number
  retries: number
}

export const signatureHeader = 'x-gauntlet-signature'

/** `sha256=<hex HMAC-SHA256 of the body>`: what a receiver recomputes with the shared secret. */
export function sign(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** "${NAME}" reads the environment; anything else is the secret itself. */
export function resolveSecret(secret: string, env: NodeJS.ProcessEnv): string | undefined {
  const reference = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(secret)
  return reference ? env[reference[1]!] || undefined : secret
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * POSTs the event as JSON, signed when the hook has a secret, with a timeout per attempt and retries
 * with backoff (250 ms doubling) on network errors, timeouts, 5xx, 408 and 429. Every attempt is recorded.
 */
export async function deliverHook(event: HookEvent, hook: Hook, payload: HookPayload, env: NodeJS.ProcessEnv = process.env): Promise<HookDelivery> {
  const delivery: HookDelivery = { event, url: hook.url, ...(payload.step !== undefined ? { step: payload.step } : {}), delivered: false, attempts: [] }
  const body = JSON.stringify(payload)
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-gauntlet-event': event }
  if (hook.secret !== undefined) {
    const secret = resolveSecret(hook.secret, env)
    if (secret === undefined) {
      delivery.attempts.push({ at: new Date().toISOString(), ms: 0, error: `secret ${hook.secret} is not set; not sent unsigned` })
      return delivery
    }
    headers[signatureHeader] = sign(body, secret)
  }
  for (let attempt = 0; attempt <= hook.retries; attempt++) {
    if (attempt > 0) await wait(250 * 2 ** (attempt - 1))
    const started = performance.now()
    const at = new Date().toISOString()
    try {
      const response = await fetch(hook.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(hook.timeoutMs) })
      await response.body?.cancel()
      delivery.attempts.push({ at, ms: Math.round(performance.now() - started), status: response.status })
      if (response.ok) {
        delivery.delivered = true
        return delivery
      }
      // A receiver that refuses the request itself (4xx) will refuse it again.
      if (response.status < 500 && response.status !== 408 && response.status !== 429) return delivery
    } catch (error) {
      const cause = ((error as Error).cause as Error | undefined)?.message
      delivery.attempts.push({ at, ms: Math.round(performance.now() - started), error: cause ?? (error as Error).message })
    }
  }
  return delivery
}
