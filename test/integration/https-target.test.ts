import type { WindowReport } from '@gauntlet/contracts'
import { LoadGenerator } from '@gauntlet/agent'
import { createServer, type Server } from 'node:https'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { selfSignedCertificate } from '../helpers/self-signed.js'

/**
 * https:// targets work end to end (a self-signed certificate made with openssl for the test). The
 * certificate is verified, as for every https target: the test trusts it by giving it as the CA.
 */
describe('https target', () => {
  let server: Server
  let port: number
  let ca: string
  beforeAll(async () => {
    const credentials = selfSignedCertificate()
    ca = credentials.cert.toString()
    server = createServer(credentials, (req, res) => {
      req.resume()
      res.end('ok')
    })
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
      target: {
        protocol: 'https:',
        hostname: '127.0.0.1',
        port,
        path: '/',
        method: 'GET',
        headers: {},
        tls: { ca, insecure: false },
      },
      steps: [{ rps: 100, durationS: 2, step: 0 }],
      timeoutMs: 2000,
      maxConnections: 100,
    }).run({ onWindow: (w) => windows.push(w) })
    expect(windows.reduce((n, w) => n + w.ok, 0)).toBe(200)
    expect(result.peakConnections).toBeLessThan(20) // reused, not one TLS handshake per request
  })
})
