import { LocalFaultEngine } from '@gauntlet/faults'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../helpers/cli.js'

let server: Server | undefined
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())))

/** A Docker engine on a unix socket that answers the image inspect with these statuses in turn. */
async function engineAnswering(statuses: number[]): Promise<string> {
  const socket = join(tempDir(), 'docker.sock')
  server = createServer((req, res) => {
    const status = statuses.shift() ?? 500
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(status === 200 ? { Id: 'sha256:x' } : { message: `status ${status}` }))
  })
  await new Promise<void>((resolve) => server!.listen(socket, resolve))
  return socket
}

const engineOn = (dockerSocket: string): LocalFaultEngine =>
  new LocalFaultEngine({
    dockerSocket,
    injector: 'auto',
    holderImage: 'gauntlet:local',
    journalFile: join(tempDir(), 'faults.jsonl'),
    reconcile: false,
  })

describe('local fault engine choosing its injector (auto)', () => {
  it('falls back to the host injector only when the engine answers 404 for the holder image', async () => {
    expect(await engineOn(await engineAnswering([404])).injector()).toBe('host')
  })

  it('an engine that fails is an error, and the failed choice is not kept: the next use asks again', async () => {
    const engine = engineOn(await engineAnswering([500, 200]))
    await expect(engine.injector()).rejects.toThrow(/did not say whether the holder image gauntlet:local exists/)
    expect(await engine.injector()).toBe('holder')
  })

  it('an engine that does not answer at all is an error, not the host injector', async () => {
    const engine = engineOn(join(tempDir(), 'no-such.sock'))
    await expect(engine.injector()).rejects.toThrow(/did not say whether/)
    await engine.stop()
  })
})
