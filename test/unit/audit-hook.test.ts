import Fastify from 'fastify'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import {
  noteCaller,
  registerAuditLog,
  requestLogController,
  type LogLevel,
} from '../../apps/controller/src/http/audit-log.js'

/** The audit lines an app at `level` writes for a signed agent's report that succeeds and one that is refused. */
async function auditLines(level: LogLevel): Promise<Array<{ level: number; audit: Record<string, unknown> }>> {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean))
      done()
    },
  })
  const app = Fastify({ logger: { level, stream }, logController: requestLogController() })
  registerAuditLog(app)
  app.post('/api/agents/:name/reports', { config: { agentRoute: true } }, async (request, reply) => {
    noteCaller(request, `agent:${(request.params as { name: string }).name}`)
    if ((request.body as { refuse?: boolean }).refuse) return reply.code(429).send({ refused: true })
    return reply.code(202).send({ accepted: 1 })
  })
  await app.inject({ method: 'POST', url: '/api/agents/a1/reports', payload: {} })
  await app.inject({ method: 'POST', url: '/api/agents/a1/reports', payload: { refuse: true } })
  await app.close()
  return lines
    .map((line) => JSON.parse(line) as { level: number; msg: string; audit: Record<string, unknown> })
    .filter((line) => line.msg === 'audit')
}

describe('audit hook on agent routes', () => {
  // At debug, fastify's own request lines are on too (requestLogController): only audit lines are compared.
  it('writes an agent success at debug level, with who and what', async () => {
    const lines = await auditLines('debug')
    expect(lines.map((l) => [l.level, l.audit.status])).toEqual([
      [20, 202],
      [40, 429],
    ])
    expect(lines[0]!.audit).toMatchObject({ who: 'agent:a1', method: 'POST', route: '/api/agents/:name/reports' })
  })

  it('at info level (the default), writes only the refusal', async () => {
    const lines = await auditLines('info')
    expect(lines.map((l) => [l.level, l.audit.status])).toEqual([[40, 429]])
    expect(lines[0]!.audit).toMatchObject({ who: 'agent:a1', ids: { name: 'a1' } })
  })
})
