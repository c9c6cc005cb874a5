import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './cli.js'

/**
 * A throwaway key and self-signed certificate for 127.0.0.1 and localhost (openssl), for https servers in
 * tests. Verified by default, a client trusts it only when given it as its CA (target.tls.ca = cert).
 */
export function selfSignedCertificate(): { key: Buffer; cert: Buffer } {
  const dir = tempDir('gauntlet-tls-')
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')]
  const subject = ['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']
  subject.push('-keyout', key, '-out', cert)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', ...subject], {
    stdio: 'ignore',
  })
  return { key: readFileSync(key), cert: readFileSync(cert) }
}
