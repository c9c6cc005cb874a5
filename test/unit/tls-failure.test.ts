import { isTlsErrorCode, maxTlsFailureChars, tlsFailureText } from '@gauntlet/contracts'
import { connectionTargetFor } from '@gauntlet/agent'
import { describe, expect, it } from 'vitest'
import { classifySocketError } from '../../apps/agent/src/load/autocannon-connection.js'
import { tlsConnectOptions } from '../../apps/agent/src/load/tls-options.js'
import { WindowAccumulator } from '../../apps/agent/src/load/window-accumulator.js'
import { mergeWindows } from '../../apps/controller/src/agents/window-merge.js'
import { tlsFailureLines } from '../../apps/controller/src/report/run-warnings.js'
import type { ObservedStep } from '@gauntlet/contracts'

const failure = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code })

describe('classifySocketError', () => {
  it.each([
    ['CERT_HAS_EXPIRED', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
    ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'tls'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls'],
    ['ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'tls'],
    ['ECONNREFUSED', 'refused'],
    ['ECONNRESET', 'reset'],
    ['EPIPE', 'reset'],
    ['ETIMEDOUT', 'timeout'],
    ['EHOSTUNREACH', 'other'],
  ] as const)('%s -> %s', (code, kind) => {
    expect(classifySocketError(failure(code))).toBe(kind)
  })

  it('an error without a code is not tls', () => {
    expect(isTlsErrorCode(undefined)).toBe(false)
    expect(classifySocketError(new Error('x'))).toBe('other')
  })
})

describe('tlsFailureText', () => {
  it.each([
    ['CERT_HAS_EXPIRED', /^certificate has expired$/],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', /^self-signed certificate/],
    ['SELF_SIGNED_CERT_IN_CHAIN', /^self-signed certificate in the chain/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /^hostname mismatch/],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /unknown authority/],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', /client certificate/],
    ['ERR_SSL_WRONG_VERSION_NUMBER', /^TLS handshake failed \(ERR_SSL_WRONG_VERSION_NUMBER\)$/],
  ])('%s', (code, text) => {
    expect(tlsFailureText(failure(code))).toMatch(text)
  })
})

describe('tlsConnectOptions', () => {
  const target = (url: string, tls?: { serverName?: string; insecure: boolean }) =>
    connectionTargetFor({ url, method: 'GET', headers: {}, ...(tls ? { tls } : {}) })

  it.each([
    ['https://127.0.0.1:8443/', undefined, undefined, true],
    ['https://[::1]:8443/', undefined, undefined, true],
    ['https://orders.internal/', undefined, 'orders.internal', true],
    ['https://127.0.0.1/', { serverName: 'orders.internal', insecure: false }, 'orders.internal', true],
    ['https://orders.internal/', { insecure: true }, 'orders.internal', false],
  ])('%s %j: SNI %s, verify %s', (url, tls, servername, verify) => {
    const options = tlsConnectOptions(target(url, tls))
    expect(options.servername).toBe(servername)
    expect(options.rejectUnauthorized).toBe(verify)
  })

  it('tls is dropped for an http target (never sent where it means nothing)', () => {
    expect(target('http://x/', { insecure: true }).tls).toBeUndefined()
  })
})

describe('tlsFailureLines', () => {
  const step = (tls: number, errors: number): ObservedStep =>
    ({
      index: 0,
      completed: 100,
      errors,
      errorsByClass: { status: {}, timeout: 0, refused: 0, reset: 0, tls, other: 0 },
    }) as unknown as ObservedStep

  it.each([
    [100, 100, 1],
    [50, 100, 1],
    [49, 100, 0],
    [0, 0, 0],
  ])('%d tls errors of %d: %d line(s)', (tls, errors, lines) => {
    expect(tlsFailureLines([step(tls, errors)], 'certificate has expired')).toHaveLength(lines)
  })

  it('names the reason the pre-run check found', () => {
    expect(tlsFailureLines([step(100, 100)], 'certificate has expired')).toEqual([
      'step 1: 100 of 100 requests failed TLS (class tls): certificate has expired',
    ])
  })
})

describe("a window's TLS failure reason", () => {
  it('the accumulator keeps the first reason only, cut to its bound, and reports it', () => {
    const window = new WindowAccumulator(0, 0, 3)
    window.recordFailure('reset')
    window.recordFailure('tls', 'certificate has expired')
    window.recordFailure('tls', 'hostname mismatch')
    expect(window.errors.tls).toBe(2)
    expect(window.toReport(0, true, 1).tlsFailure).toBe('certificate has expired')
    const long = new WindowAccumulator(1, 0, 1)
    long.recordFailure('tls', 'x'.repeat(1000))
    expect(long.toReport(0, true, 1).tlsFailure).toHaveLength(maxTlsFailureChars)
    expect(new WindowAccumulator(2, 0, 1).toReport(0, true, 1)).not.toHaveProperty('tlsFailure')
  })

  it("merged windows keep the first agent's reason", () => {
    const part = (tlsFailure?: string) => ({
      ...new WindowAccumulator(0, 0, 1).toReport(0, true, 1),
      ...(tlsFailure ? { tlsFailure } : {}),
    })
    const frame = { index: 0, step: 0, planned: 3, startedAt: 0 }
    expect(mergeWindows(frame, [part(), part('certificate has expired'), part('other')], []).tlsFailure).toBe(
      'certificate has expired',
    )
    expect(mergeWindows(frame, [part(), part()], [])).not.toHaveProperty('tlsFailure')
  })
})
