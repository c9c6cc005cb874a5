import type { RunSummary } from '@gauntlet/contracts'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { followLines, startDemoTarget, type ChildServer } from '../helpers/child-server.js'
import { gauntletBin, tempDir, writeScenario } from '../helpers/cli.js'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'

/** A TCP proxy on port 0 in front of `port` whose open connections can be cut, both ends at once. */
async function startCuttableProxy(
  port: number,
): Promise<{ url: string; connections: number; cut(): void; close(): void }> {
  const open = new Set<Socket>()
  let connections = 0
  const server: Server = createServer((client) => {
    connections++
    const upstream = connect(port, '127.0.0.1')
    for (const socket of [client, upstream]) {
      open.add(socket)
      socket.on('close', () => open.delete(socket))
      socket.on('error', () => undefined)
    }
    client.pipe(upstream).pipe(client)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return connections
    },
    cut: () => {
      for (const socket of open) socket.destroy()
    },
    close: () => {
      for (const socket of open) socket.destroy()
      server.close()
    },
  }
}

/** `gauntlet run --controller` whose event stream is cut once mid-run: it reconnects and ends with the real verdict. */
describe('gauntlet run --controller: a dropped event stream is reopened and caught up', () => {
  let target: ChildServer
  let controller: ControllerUnderTest
  beforeAll(async () => {
    target = await startDemoTarget('--latency', '2')
    controller = await startController({ token: null })
  })
  afterAll(async () => {
    await controller?.stop()
    await target?.stop()
  })

  it.each([
    { threshold: 'p99 < 1s', code: 0, verdict: /^verdict: PASS \(capacity 40 rps/ },
    // Fails at the end of step 1; the stream is cut before that, during step 1.
    { threshold: 'p50 < 0.001ms', code: 1, verdict: /^verdict: FAIL/ },
  ])(
    'threshold $threshold: exit $code, every stored window printed once, the verdict once',
    async ({ threshold, code, verdict }) => {
      const proxy = await startCuttableProxy(Number(new URL(controller.url).port))
      try {
        const dir = tempDir()
        const file = writeScenario(
          dir,
          `name: cut\ntarget: { url: "${target.url}/orders" }\nload:\n  steps: [{ rps: 20, duration: 2s }, { ` +
            `rps: 30, duration: 2s }, { rps: 40, duration: 2s }]\nthresholds: ["${threshold}"]\n`,
        )
        const summaryFile = join(dir, 'summary.json')
        const child = spawn(
          process.execPath,
          [gauntletBin, 'run', file, '--controller', proxy.url, '--summary', summaryFile],
          { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GAUNTLET_TOKEN: '' } },
        )
        const exited = once(child, 'exit').then(([exitCode]) => exitCode as number | null)
        let stderr = ''
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
        const stdout = followLines(child.stdout, exited, (exitCode, pattern) => {
          return new Error(`gauntlet run exited ${exitCode} before printing ${pattern}: ${stderr}`)
        })
        // The first window is on screen: cut the event stream (and whatever else goes through the proxy).
        await stdout.waitForLine(/^ +1s step 1\/3/)
        const before = proxy.connections
        proxy.cut()
        expect(await exited).toBe(code)
        expect(proxy.connections).toBeGreaterThan(before)
        expect(stderr).toMatch(/event stream of run \S+ dropped .*; reconnecting in \d+ms \(attempt 1\)/)
        expect(stderr).not.toMatch(/outcome is unknown/)

        // The verdict printed is the one the controller stored, and every stored window was printed once.
        const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as RunSummary
        expect(summary.verdict).toBe(code === 0 ? 'pass' : 'fail')
        const stored = (await (await controller.api(`/api/runs/${summary.runId}`)).json()) as { summary: RunSummary }
        expect(stored.summary.verdict).toBe(summary.verdict)
        const storedWindows = (await (await controller.api(`/api/runs/${summary.runId}/windows`)).json()) as Array<{
          index: number
        }>
        expect(storedWindows.length).toBeGreaterThanOrEqual(code === 0 ? 6 : 2)
        const lines = stdout.lines
        const printed = lines.flatMap((line) => /^ +(\d+)s step \d\/3/.exec(line)?.[1] ?? [])
        expect(printed).toEqual(storedWindows.map((w) => String(w.index + 1)))
        expect(lines.filter((line) => verdict.test(line))).toHaveLength(1)
        expect(lines.filter((line) => line.startsWith('verdict:'))).toHaveLength(1)
      } finally {
        proxy.close()
      }
    },
  )
})
