import type { RunSummary } from '@gauntlet/contracts'
import { GauntletError } from '@gauntlet/contracts'
import type { FastifyInstance } from 'fastify'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server, type ServerOptions } from 'node:https'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { insecureTlsWarning } from '../../apps/controller/src/report/run-warnings.js'
import { executeRun } from '../../apps/controller/src/run/run-service.js'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'
import { resolveScenarioFiles } from '../../apps/controller/src/scenario/scenario-files.js'
import { SqliteStore } from '../../apps/controller/src/storage/sqlite-store.js'
import { ControllerClient } from '../../apps/controller/src/cli/controller-client.js'
import { startGauntlet, type ChildServer } from '../helpers/child-server.js'
import { runCli, tempDir, writeScenario } from '../helpers/cli.js'
import { embeddedRunDeps } from '../helpers/embedded-run.js'
import { inProcessController } from '../helpers/in-process-controller.js'
import { makeTestPki, type TestPki } from '../helpers/test-pki.js'

/** An https server on 127.0.0.1, port 0, that counts the requests it answers. */
interface CountingServer {
  url: string
  count: () => number
  close: () => Promise<void>
}

async function countingServer(options: ServerOptions): Promise<CountingServer> {
  let requests = 0
  const server: Server = createServer(options, (req, res) => {
    requests++
    req.resume()
    res.end('ok')
  })
  // A refused handshake is the client's failure to measure, not this server's error to crash on.
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `https://127.0.0.1:${port}`,
    count: () => requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** 20 requests over 1 s; any error fails the step. */
const scenarioYaml = (url: string, tls: string): string =>
  `name: tls\ntarget:\n  url: "${url}/"\n  timeout: 2s\n${tls ? `  tls: ${tls}\n` : ''}` +
  `load: { steps: [ { rps: 20, duration: 1s } ] }\nthresholds: [ "error_rate < 1%" ]\n`

/** Indents a PEM as a YAML block scalar under `tls:`. */
const block = (pem: string): string => `|\n${pem.trim().replace(/^/gm, '      ')}`

describe('https targets are verified (target.tls)', () => {
  let pki: TestPki
  let dir: string
  let good: CountingServer
  let selfSigned: CountingServer
  let expired: CountingServer
  let otherHost: CountingServer
  let mutual: CountingServer

  beforeAll(async () => {
    pki = makeTestPki()
    dir = tempDir('gauntlet-tls-run-')
    good = await countingServer({ cert: pki.server.cert, key: pki.server.key })
    selfSigned = await countingServer({ cert: pki.selfSigned.cert, key: pki.selfSigned.key })
    expired = await countingServer({ cert: pki.expired.cert, key: pki.expired.key })
    otherHost = await countingServer({ cert: pki.otherHost.cert, key: pki.otherHost.key })
    mutual = await countingServer({
      cert: pki.server.cert,
      key: pki.server.key,
      ca: pki.ca.pem,
      requestCert: true,
      rejectUnauthorized: true,
    })
  })
  afterAll(async () => {
    for (const server of [good, selfSigned, expired, otherHost, mutual]) await server?.close()
  })

  /** An embedded run of the scenario, its files read relative to the PKI's directory (as the CLI does). */
  async function run(yaml: string): Promise<RunSummary> {
    const store = new SqliteStore(join(dir, `${Math.random().toString(36).slice(2)}.db`))
    try {
      const scenario = await resolveScenarioFiles(parseScenario(yaml), { scenarioDir: pki.dir }, 'test')
      return await executeRun(embeddedRunDeps(store), { scenario, yaml })
    } finally {
      store.close()
    }
  }

  /** Every request of the only step failed with class tls, and the run says why. */
  function expectAllTls(summary: RunSummary, why: RegExp): void {
    const step = summary.steps[0]!
    expect(step.sent).toBe(20)
    expect(step.errorsByClass.tls).toBe(20)
    expect(step.errors).toBe(20)
    expect(summary.verdict).toBe('fail')
    expect(summary.reasons.join('\n')).toMatch(why)
    expect(summary.warnings.join('\n')).toMatch(why)
  }

  it('a self-signed target without ca: every request fails with class tls, naming the self-signed certificate', async () => {
    const summary = await run(scenarioYaml(selfSigned.url, ''))
    expectAllTls(summary, /self-signed certificate/)
    expect(selfSigned.count()).toBe(0)
  })

  it('the same target with its certificate as ca (a file next to the scenario): passes, the server counted every request', async () => {
    const before = selfSigned.count()
    const summary = await run(scenarioYaml(selfSigned.url, '{ ca: ./self.pem }'))
    expect(summary.verdict).toBe('pass')
    expect(summary.steps[0]).toMatchObject({ sent: 20, errors: 0 })
    expect(selfSigned.count() - before).toBe(20)
    expect(summary.warnings.join('\n')).not.toMatch(/TLS/)
  })

  it('a target signed by a private CA, the CA given inline: passes (system roots plus the CA)', async () => {
    const summary = await run(scenarioYaml(good.url, `\n    ca: ${block(pki.ca.pem)}`))
    expect(summary.verdict).toBe('pass')
    expect(good.count()).toBe(20)
  })

  it('an expired certificate: class tls, naming the expiry', async () => {
    const summary = await run(scenarioYaml(expired.url, '{ ca: ca.pem }'))
    expectAllTls(summary, /certificate has expired/)
    expect(expired.count()).toBe(0)
  })

  it('a certificate for another host: class tls, naming the mismatch; serverName set to that host passes', async () => {
    expectAllTls(await run(scenarioYaml(otherHost.url, '{ ca: ca.pem }')), /hostname mismatch/)
    expect(otherHost.count()).toBe(0)
    const fixed = await run(scenarioYaml(otherHost.url, '{ ca: ca.pem, serverName: other.example }'))
    expect(fixed.verdict).toBe('pass')
    expect(otherHost.count()).toBe(20)
  })

  it('mutual TLS: refused without a client certificate, passes with cert and key', async () => {
    const refused = await run(scenarioYaml(mutual.url, '{ ca: ca.pem }'))
    const step = refused.steps[0]!
    // What really happens (TLS 1.3): the client's handshake completes, then the server's
    // "certificate required" alert fails the socket: ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, class tls.
    expect(step.errorsByClass.tls).toBe(20)
    expect(refused.verdict).toBe('fail')
    expect(refused.reasons.join('\n')).toMatch(/client certificate/)
    expect(mutual.count()).toBe(0)

    const passed = await run(scenarioYaml(mutual.url, '{ ca: ca.pem, cert: client.pem, key: client.key }'))
    expect(passed.verdict).toBe('pass')
    expect(mutual.count()).toBe(20)
  })

  it('insecure: true passes against a self-signed target, and the summary carries the warning', async () => {
    const before = selfSigned.count()
    const summary = await run(scenarioYaml(selfSigned.url, '{ insecure: true }'))
    expect(summary.verdict).toBe('pass')
    expect(selfSigned.count() - before).toBe(20)
    expect(summary.warnings).toContain(insecureTlsWarning)
  })

  it('gauntlet run reads ca relative to the scenario file, and warns at the start when insecure', async () => {
    const before = selfSigned.count()
    const file = writeScenario(pki.dir, scenarioYaml(selfSigned.url, '{ ca: ./self.pem }'), 'verified.yaml')
    const verified = await runCli(['run', file], { cwd: tempDir() })
    expect(verified.code, verified.stderr).toBe(0)
    expect(verified.stderr).not.toMatch(/TLS verification is off/)
    const insecureFile = writeScenario(pki.dir, scenarioYaml(selfSigned.url, '{ insecure: true }'), 'insecure.yaml')
    const insecure = await runCli(['run', insecureFile])
    expect(insecure.code, insecure.stderr).toBe(0)
    expect(insecure.stderr).toContain(`warning: ${insecureTlsWarning}`)
    expect(selfSigned.count() - before).toBe(40)
  })

  describe('validation names the field', () => {
    async function problems(tls: string): Promise<Array<{ path: string; message: string }>> {
      try {
        await resolveScenarioFiles(parseScenario(scenarioYaml(good.url, tls)), { scenarioDir: pki.dir }, 'test')
      } catch (error) {
        expect(error).toBeInstanceOf(GauntletError)
        expect((error as GauntletError).code).toBe('invalid_scenario')
        return (error as GauntletError).problems
      }
      throw new Error('expected the scenario to be refused')
    }

    it('PEM that does not parse', async () => {
      const bad = '|\n      -----BEGIN CERTIFICATE-----\n      bm90IGEgY2VydA==\n      -----END CERTIFICATE-----'
      expect(await problems(`\n    ca: ${bad}`)).toMatchObject([
        { path: '/target/tls/ca', message: /not a valid certificate/ },
      ])
    })

    it('a missing file', async () => {
      expect(await problems('{ ca: ./nowhere.pem }')).toMatchObject([
        { path: '/target/tls/ca', message: /cannot read "\.\/nowhere\.pem": no such file/ },
      ])
    })

    it('a cert without its key, a key without its cert, a key that is not the certificate’s', async () => {
      expect(() => parseScenario(scenarioYaml(good.url, '{ cert: client.pem }'))).toThrow(GauntletError)
      try {
        parseScenario(scenarioYaml(good.url, '{ cert: client.pem }'))
      } catch (error) {
        expect((error as GauntletError).problems).toMatchObject([{ path: '/target/tls/cert', message: /key/ }])
      }
      try {
        parseScenario(scenarioYaml(good.url, '{ key: client.key }'))
      } catch (error) {
        expect((error as GauntletError).problems).toMatchObject([{ path: '/target/tls/key', message: /cert/ }])
      }
      expect(await problems('{ cert: client.pem, key: server.key }')).toMatchObject([
        { path: '/target/tls/key', message: /does not belong/ },
      ])
    })

    it('the CLI: gauntlet validate exits 2 naming the field and its line', async () => {
      const file = writeScenario(tempDir(), scenarioYaml(good.url, '{ ca: ./missing-ca.pem }'))
      const result = await runCli(['validate', file])
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(/scenario\.yaml:5:\d+ \/target\/tls\/ca/)
      expect(result.stderr).toMatch(/no such file/)
    })
  })

  describe('on the controller', () => {
    const token = 'tls-test-token'
    const auth = { authorization: `Bearer ${token}` }
    let filesDir: string
    /** A valid CA file outside the files directory: reading it would succeed, so only confinement refuses it. */
    let outside: string
    let plain: { app: FastifyInstance; stop: () => Promise<void> }
    let withFiles: { app: FastifyInstance; stop: () => Promise<void> }
    beforeAll(() => {
      filesDir = pki.dir
      outside = join(tempDir('gauntlet-outside-'), 'ca.pem')
      writeFileSync(outside, pki.ca.pem)
      mkdirSync(join(filesDir, 'sub'))
      // A link inside the files directory to a file outside it.
      symlinkSync(outside, join(filesDir, 'sub', 'escape.pem'))
      plain = inProcessController({ env: { GAUNTLET_TOKEN: token } })
      withFiles = inProcessController({ env: { GAUNTLET_TOKEN: token, GAUNTLET_FILES_DIR: filesDir } })
    })
    afterAll(async () => {
      await plain?.stop()
      await withFiles?.stop()
    })

    it('a path in a REST scenario without --files-dir: 400 naming /target/tls/ca, nothing stored', async () => {
      const yaml = scenarioYaml(good.url, '{ ca: ca.pem }')
      const started = await plain.app.inject({ method: 'POST', url: '/api/runs', headers: auth, payload: { yaml } })
      expect(started.statusCode).toBe(400)
      expect(started.headers['content-type']).toMatch(/application\/problem\+json/)
      expect(started.json<{ problems: Array<{ path: string; message: string }> }>().problems).toMatchObject([
        { path: '/target/tls/ca', message: /--files-dir/ },
      ])
      const put = await plain.app.inject({ method: 'PUT', url: '/api/scenarios/tls', headers: auth, payload: { yaml } })
      expect(put.statusCode).toBe(400)
      expect((await plain.app.inject({ url: '/api/runs', headers: auth })).json<unknown[]>()).toHaveLength(0)
    })

    it('with --files-dir: paths under it are read; .. and symlink escapes are refused', async () => {
      const put = (tls: string) =>
        withFiles.app.inject({
          method: 'PUT',
          url: '/api/scenarios/tls',
          headers: auth,
          payload: { yaml: scenarioYaml(good.url, tls) },
        })
      expect((await put('{ ca: ca.pem }')).statusCode).toBeLessThan(300)
      const dotdot = await put(`{ ca: ${relative(filesDir, outside)} }`)
      expect(relative(filesDir, outside)).toMatch(/^\.\.\//)
      expect(dotdot.statusCode).toBe(400)
      expect(dotdot.json<{ problems: unknown[] }>().problems).toMatchObject([
        { path: '/target/tls/ca', message: /outside the controller's files directory/ },
      ])
      const link = await put('{ ca: sub/escape.pem }')
      expect(link.statusCode).toBe(400)
      expect(link.json<{ problems: unknown[] }>().problems).toMatchObject([
        { path: '/target/tls/ca', message: /outside/ },
      ])
    })

    it('an inline client key is never shown: GET /api/scenarios/:name and GET /api/runs/:id show «redacted»', async () => {
      const tls = `\n    ca: ${block(pki.ca.pem)}\n    cert: ${block(pki.client.cert)}\n    key: ${block(pki.client.key)}`
      const yaml = scenarioYaml(mutual.url, tls).replace('name: tls', 'name: mtls')
      const keyLine = pki.client.key.split('\n')[1]!
      const before = mutual.count()
      const put = await plain.app.inject({
        method: 'PUT',
        url: '/api/scenarios/mtls',
        headers: auth,
        payload: { yaml },
      })
      expect(put.statusCode).toBeLessThan(300)
      expect(put.body).not.toContain(keyLine)
      const shown = await plain.app.inject({ url: '/api/scenarios/mtls', headers: auth })
      expect(shown.body).not.toContain(keyLine)
      expect(shown.json<{ yaml: string }>().yaml).toMatch(/key: "«redacted»"/)
      // The certificate is not a secret: it stays.
      expect(shown.body).toContain(pki.client.cert.split('\n')[1]!)

      const started = await plain.app.inject({
        method: 'POST',
        url: '/api/runs',
        headers: auth,
        payload: { scenario: 'mtls' },
      })
      expect(started.statusCode).toBe(201)
      const { id } = started.json<{ id: string }>()
      const events = await plain.app.inject({ url: `/api/runs/${id}/events`, headers: auth })
      expect(events.body).not.toContain(keyLine)
      const detail = await plain.app.inject({ url: `/api/runs/${id}`, headers: auth })
      expect(detail.json<{ status: string }>().status).toBe('passed')
      expect(detail.body).not.toContain(keyLine)
      expect(mutual.count() - before).toBe(20)
    })
  })

  it('remote agents (real processes): the controller reads cert and key under --files-dir and the agent makes mutual TLS with them; the key is in no output', async () => {
    const secret = { GAUNTLET_AGENT_SECRET: 'tls-agents-7c1e' }
    const started: ChildServer[] = []
    try {
      const controller = await startGauntlet(
        ['controller', '--port', '0', '--db', join(tempDir(), 'c.db'), '--agents', 'remote', '--files-dir', pki.dir],
        secret,
      )
      started.push(controller)
      const agent = await startGauntlet(['agent', '--controller', controller.url, '--name', 'tls-agent'], secret)
      started.push(agent)
      await agent.waitForLine(/registered with/)
      const before = mutual.count()
      const client = new ControllerClient(controller.url, undefined)
      const id = await client.startRun(
        scenarioYaml(mutual.url, '{ ca: ca.pem, cert: client.pem, key: client.key }'),
        undefined,
      )
      let summary: RunSummary | undefined
      for await (const event of client.follow(id)) {
        if (event.event === 'status' && event.data.status !== 'running') summary = event.data.summary!
      }
      expect(summary).toMatchObject({ status: 'passed', agents: [{ name: 'tls-agent' }] })
      expect(mutual.count() - before).toBe(20)
      const keyLine = pki.client.key.split('\n')[1]!
      for (const child of started) expect(child.lines.join('\n')).not.toContain(keyLine)
      expect(await (await fetch(`${controller.url}/api/runs/${id}`)).text()).not.toContain(keyLine)
    } finally {
      await Promise.all(started.map((child) => child.stop()))
    }
  })
})
