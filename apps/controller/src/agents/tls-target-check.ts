import { connectionTargetFor, tlsConnectOptions } from '@gauntlet/agent'
import { GauntletError, isTlsErrorCode, tlsFailureText } from '@gauntlet/contracts'
import { allowListLookup, type AllowList } from '@gauntlet/http'
import { connect } from 'node:tls'
import type { TlsCheck } from '../run/ports.js'

/** TLS 1.3 servers refuse a missing client certificate just after the handshake: how long to listen for it. */
const alertWaitMs = 250

/**
 * A TLS handshake with the target, made once before the load with exactly the settings the agents use
 * (tlsConnectOptions): it sends no request. Agents count TLS failures by class only; this check is
 * what names the reason ("certificate has expired", "hostname mismatch") in the run's warnings. A
 * failure does not refuse the run: its requests then fail as class `tls`, which the thresholds judge.
 * Resolves to the reason, or undefined when the handshake passed (or failed for a reason that is not
 * TLS: the TCP probe reports those).
 */
export function tlsTargetCheck(allow: AllowList): TlsCheck {
  return (url, tls, timeoutMs) => {
    const target = connectionTargetFor({ url, method: 'GET', headers: {}, ...(tls ? { tls } : {}) })
    return new Promise((resolve) => {
      const socket = connect({ ...tlsConnectOptions(target), lookup: allowListLookup(allow) })
      const done = (reason: string | undefined): void => {
        socket.destroy()
        resolve(reason)
      }
      socket.setTimeout(Math.min(timeoutMs, 5000), () => done(undefined))
      socket.once('secureConnect', () => {
        if (socket.getProtocol() !== 'TLSv1.3') return done(undefined)
        // The client's side is done before the server has read our certificate (or its absence): its
        // refusal arrives as an alert right after. Not a synchronisation: a bound on a diagnosis.
        socket.setTimeout(alertWaitMs, () => done(undefined))
        socket.once('end', () => done(undefined))
      })
      socket.once('error', (error: NodeJS.ErrnoException) =>
        done(!(error instanceof GauntletError) && isTlsErrorCode(error.code) ? tlsFailureText(error) : undefined),
      )
    })
  }
}
