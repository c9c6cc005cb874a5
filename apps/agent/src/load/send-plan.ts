import { hostOf, type ConnectionTarget, type SendCall } from './autocannon-connection.js'
import { compileRequest, type RequestRenderer } from './request-bytes.js'
import { RequestMix } from './request-mix.js'
import type { ResponseExpectation } from './response-expectation.js'
import { SendValueSource, type AgentSlot, type DataSetShare } from './send-values.js'

/** One request of a mix as a load plan carries it (templates as written, expectation parsed). */
export interface MixRequest {
  name: string
  weight: number
  method: string
  /** Path and query on the target; may hold templates. */
  path: string
  headers: Record<string, string>
  body?: string
  expect?: ResponseExpectation
}

interface CompiledRequest {
  render: RequestRenderer
  method: string
  hasBody: boolean
  expect: ResponseExpectation | undefined
  /** Only templated requests need send values (a counter, rows); a fixed one renders nothing. */
  templated: boolean
}

/**
 * What each send makes: the mix's next request (smooth weighted round-robin), rendered with that
 * send's values. Without a mix, the target's own request. Compiled once, when the generator starts.
 */
export class SendPlan {
  readonly names: readonly string[] | undefined
  private readonly requests: CompiledRequest[]
  private readonly mix: RequestMix
  private readonly values: SendValueSource

  constructor(
    target: ConnectionTarget,
    options: {
      mix?: readonly MixRequest[]
      data?: Readonly<Record<string, DataSetShare>>
      slot?: AgentSlot
      /** The expectation of the target's own request (no mix). */
      expect?: ResponseExpectation
      /** Count each request's outcomes apart (a scenario with requests:). */
      perRequest?: boolean
    },
  ) {
    const mix: readonly MixRequest[] = options.mix ?? [
      {
        name: 'default',
        weight: 1,
        method: target.method,
        path: target.path,
        headers: target.headers,
        ...(target.body !== undefined ? { body: target.body } : {}),
        ...(options.expect ? { expect: options.expect } : {}),
      },
    ]
    this.names = options.perRequest ? mix.map((r) => r.name) : undefined
    this.requests = mix.map((request) => {
      // connectionTargetFor puts the Host header in the target's headers; a mix's request may set its own.
      const headers = hasHost(request.headers) ? request.headers : { host: hostOf(target), ...request.headers }
      const { render, templated } = compileRequest({ ...request, host: '', headers })
      return {
        render,
        method: request.method,
        hasBody: request.body !== undefined && request.body !== '',
        expect: request.expect,
        templated,
      }
    })
    this.mix = new RequestMix(mix.map((r) => r.weight))
    this.values = new SendValueSource(options.data ?? {}, options.slot)
  }

  /** The next send's call. Throws DataExhausted when a unique data set it reads has no row left. */
  next(): SendCall {
    const index = this.mix.next()
    const request = this.requests[index]!
    const { bytes, path } = request.render(request.templated ? this.values.next(Date.now()) : undefined)
    return { request: index, bytes, method: request.method, path, hasBody: request.hasBody, expect: request.expect }
  }
}

function hasHost(headers: Record<string, string>): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase() === 'host')
}
