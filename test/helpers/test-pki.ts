import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './cli.js'

export interface KeyPair {
  cert: string
  key: string
  certPath: string
  keyPath: string
}

export interface TestPki {
  dir: string
  /** The test CA: its certificate (PEM) and where it is written. */
  ca: { pem: string; path: string }
  /** Signed by the CA for 127.0.0.1 and localhost. */
  server: KeyPair
  /** Signed by the CA for 127.0.0.1, expired yesterday. */
  expired: KeyPair
  /** Signed by the CA for other.example only. */
  otherHost: KeyPair
  /** Self-signed for 127.0.0.1 and localhost (no CA). */
  selfSigned: KeyPair
  /** A client certificate signed by the CA (for mutual TLS). */
  client: KeyPair
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' })
}

/** A throwaway PKI made with openssl at test time (nothing checked in, nothing that expires in the repo). */
export function makeTestPki(): TestPki {
  const dir = tempDir('gauntlet-pki-')
  const file = (name: string): string => join(dir, name)
  const pair = (name: string): KeyPair => ({
    cert: readFileSync(file(`${name}.pem`), 'utf8'),
    key: readFileSync(file(`${name}.key`), 'utf8'),
    certPath: file(`${name}.pem`),
    keyPath: file(`${name}.key`),
  })
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=Gauntlet test CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  ])
  const signed = (name: string, cn: string, extensions: string, days: string): void => {
    writeFileSync(file(`${name}.ext`), `${extensions}\n`)
    openssl([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
    ])
    openssl([
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      days,
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.pem`),
    ])
  }
  const local = 'subjectAltName=IP:127.0.0.1,DNS:localhost'
  signed('server', 'localhost', local, '2')
  // A negative validity puts notAfter before now: expired since yesterday.
  signed('expired', '127.0.0.1', 'subjectAltName=IP:127.0.0.1', '-1')
  signed('other', 'other.example', 'subjectAltName=DNS:other.example', '2')
  signed('client', 'gauntlet-client', 'extendedKeyUsage=clientAuth', '2')
  openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    local,
    '-keyout',
    file('self.key'),
    '-out',
    file('self.pem'),
  ])
  return {
    dir,
    ca: { pem: readFileSync(file('ca.pem'), 'utf8'), path: file('ca.pem') },
    server: pair('server'),
    expired: pair('expired'),
    otherHost: pair('other'),
    selfSigned: pair('self'),
    client: pair('client'),
  }
}
