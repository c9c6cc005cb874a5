import { createHash } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inProcessController, type InProcessController } from '../helpers/in-process-controller.js'

const token = 'dashboard-serving-token'

/** The dashboard's page and files, as the controller serves them: public, fixed, under a strict CSP. */
describe('the controller serves the dashboard', () => {
  let controller: InProcessController
  beforeAll(() => {
    controller = inProcessController({ env: { GAUNTLET_TOKEN: token } })
  })
  afterAll(() => controller.stop())
  const get = (url: string, headers: Record<string, string> = {}) =>
    controller.app.inject({ method: 'GET', url, headers: { host: '127.0.0.1', ...headers } })

  it('answers / with the page without a token, under a CSP that allows only its own scripts and its import map', async () => {
    const page = await get('/')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("connect-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(page.body)![1]!
    const hash = createHash('sha256').update(importMap).digest('base64')
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`)
    // Every read needs the token here: the page says so, and asks for it before its first call.
    expect(page.body).toContain('<meta name="gauntlet-auth" content="token" />')
    // Every script the page loads is served.
    const sources = [...page.body.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1]!)
    const mapped = Object.values((JSON.parse(importMap) as { imports: Record<string, string> }).imports)
    for (const url of [...sources, ...mapped]) expect((await get(url)).statusCode, url).toBe(200)
  })

  it('serves the app modules and revalidates them by ETag; the API behind them still needs the token', async () => {
    const main = await get('/ui/app/main.js')
    expect(main.statusCode).toBe(200)
    expect(main.headers['content-type']).toMatch(/^text\/javascript/)
    expect(main.body).toContain("from 'htm/preact'")
    const again = await get('/ui/app/main.js', { 'if-none-match': String(main.headers.etag) })
    expect(again.statusCode).toBe(304)
    expect((await get('/api/runs')).statusCode).toBe(401)
  })

  it('names no file from a request: traversal, unknown files and the compiled declarations are 404', async () => {
    for (const url of [
      '/ui/../package.json',
      '/ui/%2e%2e/%2e%2e/package.json',
      '/ui/app/main.d.ts',
      '/ui/app/../../../../etc/passwd',
      '/ui/nope.js',
    ]) {
      const response = await get(url, { authorization: `Bearer ${token}` })
      expect(response.statusCode, url).toBe(404)
      expect(response.body).not.toContain('root:')
    }
  })

  it('refuses a foreign Host for the page too (DNS rebinding)', async () => {
    expect((await get('/', { host: 'attacker.example' })).statusCode).toBe(403)
  })

  it('ships under 300 KB of JavaScript gzipped', async () => {
    const page = (await get('/')).body
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(page)![1]!
    const urls = new Set([
      ...[...page.matchAll(/src="(\/ui\/[^"]+\.js)"/g)].map((m) => m[1]!),
      ...Object.values((JSON.parse(importMap) as { imports: Record<string, string> }).imports),
    ])
    // The app's own modules: every one main.js imports, transitively.
    const pending = ['/ui/app/main.js']
    while (pending.length > 0) {
      const url = pending.pop()!
      if (urls.has(url) && url !== '/ui/app/main.js') continue
      urls.add(url)
      const body = (await get(url)).body
      for (const m of body.matchAll(/from '(\.{1,2}\/[^']+)'/g)) pending.push(new URL(m[1]!, `http://x${url}`).pathname)
    }
    let gzipped = 0
    for (const url of urls) {
      const body = (await get(url)).rawPayload
      const zipped = gzipSync(body, { level: 9 })
      expect(gunzipSync(zipped).equals(body)).toBe(true)
      gzipped += zipped.length
    }
    console.log(`dashboard: ${urls.size} scripts, ${(gzipped / 1024).toFixed(1)} KB gzipped`)
    expect(urls.size).toBeGreaterThan(6)
    expect(gzipped).toBeLessThan(300 * 1024)
  })
})
