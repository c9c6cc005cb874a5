import type { WindowReport } from '@gauntlet/contracts'
import { LoadGenerator } from '@gauntlet/agent'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/cli.js'

/** https:// targets work end to end (a self-signed certificate made with openssl for the test). */
describe('https target', () => {
  let server: Server
  let port: number
  beforeAll(async () => {
    const dir = tempDir('gauntlet-tls-')
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    )
    server = createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (req, res) => {
        req.resume()
        res.end('ok')
      },
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as { port: number }).port
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  it('loads an https:// target over TLS with keep-alive connections', async () => {
    const windows: WindowReport[] = []
    const result = await new LoadGenerator({
      target: { protocol: 'https:', hostname: '127.0.0.1', port, path: '/', method: 'GET', headers: {} },
      steps: [{ rps: 100, durationS: 2, step: 0 }],
      timeoutMs: 2000,
      maxConnections: 100,
    }).run({ onWindow: (w) => windows.push(w) })
    expect(windows.reduce((n, w) => n + w.ok, 0)).toBe(200)
    expect(result.peakConnections).toBeLessThan(20) // reused, not one TLS handshake per request
  })
})
