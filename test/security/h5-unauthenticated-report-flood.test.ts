import { maxAgentReportBytes } from '@gauntlet/contracts'
import { signRequest } from '@gauntlet/http'
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'
import { performance } from 'node:perf_hooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startController, type ControllerUnderTest } from '../helpers/controller.js'

/**
 * H5: the agent report route read and parsed up to 64 MiB before checking the secret: three 60 MB
 * unauthenticated reports took the controller to 523 MB, and an invalid body got 400 before 401.
 * Now the signature is checked on the headers alone: a stranger's body is never read.
 */
const floodBytes = 60 * 1024 * 1024
const secret = 'h5-agent-secret-77c2'
const reportPath = '/api/agents/a1/reports'

/** Kilobytes of the process's resident set now, and at its peak so far. */
function memoryKb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)![1])
  return { rss: field('VmRSS'), peak: field('VmHWM') }
}

/**
 * POSTs a report of `bytes` (default floodBytes) over a raw socket, streaming the body as fast as the
 * socket takes it, and resolves with how long after the headers went out the response's status line
 * arrived, and how much of the body had been written by then.
 */
function flood(
  url: string,
  bytes = floodBytes,
  headers: Record<string, string> = {},
): Promise<{ status: number; ms: number; writtenBeforeAnswer: number }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    const chunk = Buffer.alloc(64 * 1024, 'a')
    let written = 0
    let sentAt = 0
    let answered = false
    let response = ''
    const pump = (): void => {
      while (!answered && written < bytes) {
        written += chunk.length
        if (!socket.write(chunk)) return void socket.once('drain', pump)
      }
    }
    socket.once('connect', () => {
      const extra = Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')
      socket.write(
        `POST ${reportPath} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${bytes}\r\n${extra}\r\n`,
      )
      sentAt = performance.now()
      pump()
    })
    socket.on('data', (data: Buffer) => {
      response += data.toString('latin1')
      const status = /^HTTP\/1\.1 (\d{3})/.exec(response)
      if (!answered && status) {
        answered = true
        resolve({ status: Number(status[1]), ms: performance.now() - sentAt, writtenBeforeAnswer: written })
        socket.destroy()
      }
    })
    // The server closing mid-body is what should happen; only a close without an answer is a failure.
    socket.on('error', () => undefined)
    socket.on('close', () =>
      answered ? undefined : reject(new Error(`connection closed without an answer after ${written} bytes`)),
    )
  })
}

describe('H5: unauthenticated report floods', () => {
  let c: ControllerUnderTest
  beforeAll(async () => {
    c = await startController({ env: { GAUNTLET_AGENT_SECRET: secret } })
  })
  afterAll(async () => {
    await c.stop()
  })

  it(`refuses a 60 MB unauthenticated report within 50 ms, before its body is read, \
and three at once leave memory bounded`, async () => {
    // Warm the route once (first-request compilation is not what this measures).
    expect(
      (
        await fetch(`${c.url}${reportPath}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
      ).status,
    ).toBe(401)
    const before = memoryKb(c.process.pid!)

    const one = await flood(c.url)
    expect(one.status).toBe(401)
    expect(one.ms).toBeLessThan(50)
    expect(one.writtenBeforeAnswer).toBeLessThan(floodBytes)

    const three = await Promise.all([flood(c.url), flood(c.url), flood(c.url)])
    for (const attempt of three) expect(attempt.status).toBe(401)

    const after = memoryKb(c.process.pid!)
    // Before, each flood was buffered whole (peak 523 MB); now none is: the peak barely moves.
    expect(after.peak - before.rss).toBeLessThan(48 * 1024)
    expect(await c.healthy()).toBe(true)
  })

  it('answers 401 before 400: an unsigned invalid body is refused as unauthenticated', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${c.url}${reportPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      })
    for (const body of ['{not json', JSON.stringify({ runId: 'r', windows: [{ latency: 'AAAA' }] })]) {
      const response = await post(body)
      expect(response.status).toBe(401)
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      // The refusal closes the connection and says so: a keep-alive client must not reuse that socket.
      expect(response.headers.get('connection')).toBe('close')
    }
    // Signed by a real agent, the same invalid body is a 400: the order is authentication, then validation.
    const signed = await post('{not json', signRequest(secret, 'POST', `${c.url}${reportPath}`, '{not json'))
    expect(signed.status).toBe(400)
    expect(await c.healthy()).toBe(true)
  })

  it('caps even a signed report at the largest legal report, far below 64 MiB', async () => {
    const bytes = maxAgentReportBytes + 1
    const answer = await flood(c.url, bytes, signRequest(secret, 'POST', `${c.url}${reportPath}`, 'a'.repeat(bytes)))
    expect(answer.status).toBe(413)
    expect(maxAgentReportBytes).toBeLessThan(8 * 1024 * 1024)
    expect(await c.healthy()).toBe(true)
  })
})
