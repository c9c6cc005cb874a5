/**
 * Node's TLS failures, by error code: which ones mean "the TLS layer refused" (class `tls`, not a
 * reset or `other`), and the words a person reads at 2 a.m. to know why. Shared by the agent (which
 * counts them) and the controller (whose pre-run check names them).
 */

/** Certificate verification codes (OpenSSL's X509_V_ERR_* names, as Node reports them). */
const certificateReasons: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate (not trusted: give its CA as target.tls.ca)',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain (not trusted: give its CA as target.tls.ca)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate signed by an unknown authority (give its CA as target.tls.ca)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate signed by an unknown authority (give its CA as target.tls.ca)',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate signed by an unknown authority (give its CA as target.tls.ca)',
  ERR_TLS_CERT_ALTNAME_INVALID:
    'hostname mismatch: the certificate does not name this host (see target.tls.serverName)',
  CERT_REVOKED: 'certificate has been revoked',
  CERT_UNTRUSTED: 'certificate is not trusted',
  CERT_REJECTED: 'certificate was rejected',
  CERT_SIGNATURE_FAILURE: 'certificate signature is invalid',
  INVALID_CA: 'an issuer in the chain is not a CA',
  INVALID_PURPOSE: 'certificate is not meant for a TLS server',
  HOSTNAME_MISMATCH: 'hostname mismatch',
  ERR_TLS_HANDSHAKE_TIMEOUT: 'TLS handshake timed out',
}

/** Whether a socket error's code is a TLS failure (certificate refused, handshake failed or alerted). */
export function isTlsErrorCode(code: string | undefined): boolean {
  if (code === undefined) return false
  return code in certificateReasons || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')
}

/** The reason a person reads: "certificate has expired", "hostname mismatch: ...", "TLS handshake failed (...)". */
export function tlsFailureText(error: { code?: string | undefined; message?: string }): string {
  const code = error.code ?? ''
  const known = certificateReasons[code]
  if (known) return known
  // ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: the server wants a client certificate (mTLS).
  if (/CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA/.test(code))
    return `TLS handshake refused by the server (${code}): does it require a client certificate (target.tls.cert/key)?`
  return `TLS handshake failed (${code || (error.message ?? 'unknown error')})`
}
