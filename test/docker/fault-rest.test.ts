import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startGauntlet, type ChildServer } from '../helpers/child-server.js'
import { tempDir } from '../helpers/cli.js'
import {
  dockerGate,
  ensureBusyboxImage,
  removeTestContainers,
  startHttpdContainer,
  type HttpdContainer,
} from '../helpers/docker.js'
import { download, journalEnv, marksIn, noMarks } from '../helpers/fault-load.js'

/** Ad hoc faults over the controller's REST API, on a real container: apply, list, revert, refusals. */
const gate = await dockerGate()

gate.describe('POST/GET/DELETE /api/faults on a real controller and engine', () => {
  let dir: string
  let controller: ChildServer
  let target: HttpdContainer
  const token = 'fault-rest-token'
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }

  beforeAll(async () => {
    await ensureBusyboxImage()
    dir = tempDir('gauntlet-fault-rest-')
    target = await startHttpdContainer({ labels: { app: 'fault-rest' } })
    controller = await startGauntlet(['controller', '--port', '0', '--db', join(dir, 'c.db'), '--docker'], {
      ...journalEnv(dir),
      GAUNTLET_TOKEN: token,
    })
  }, 120_000)
  afterAll(async () => {
    await controller?.stop()
    await removeTestContainers()
    rmSync(dir, { recursive: true, force: true })
  })

  it(`applies a bandwidth fault, lists it, measures it, \
reverts it on DELETE and reads the namespace back clean`, async () => {
    const before = await download(`${target.url}/big.bin`)
    const created = await fetch(`${controller.url}/api/faults`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ type: 'bandwidth', target: { container: target.name }, rate: '8mbit', duration: '60s' }),
    })
    expect(created.status).toBe(201)
    const fault = (await created.json()) as { id: string; mechanism: string; targets: string[]; untilAt: string }
    expect(fault).toMatchObject({ mechanism: 'tbf', targets: [target.name] })
    expect((await marksIn(target.pid)).qdiscs).toEqual(['eth0'])

    const listed = (await (await fetch(`${controller.url}/api/faults`, { headers: auth })).json()) as Array<{
      id: string
    }>
    expect(listed.map((f) => f.id)).toEqual([fault.id])
    const during = await download(`${target.url}/big.bin`)
    console.log(`REST bandwidth 8mbit: ${before.mbitPerS.toFixed(0)} -> ${during.mbitPerS.toFixed(2)} Mbit/s`)
    expect(during.mbitPerS).toBeLessThan(10)

    const deleted = await fetch(`${controller.url}/api/faults/${fault.id}`, { method: 'DELETE', headers: auth })
    expect(deleted.status).toBe(200)
    expect(await deleted.json()).toMatchObject({ id: fault.id, revertVerified: true })
    expect(await marksIn(target.pid)).toEqual(noMarks)
    expect(await (await fetch(`${controller.url}/api/faults`, { headers: auth })).json()).toEqual([])
  })

  it(`refuses without the token, with located problems for a bad document, \
and 404 for a container that does not exist`, async () => {
    const doc = { type: 'reset', target: { container: target.name }, port: 8080, duration: '5s' }
    const noToken = await fetch(`${controller.url}/api/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(doc),
    })
    expect(noToken.status).toBe(401)

    const bad = await fetch(`${controller.url}/api/faults`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ ...doc, latency: '5ms', at: '3s' }),
    })
    expect(bad.status).toBe(400)
    expect(bad.headers.get('content-type')).toMatch(/application\/problem\+json/)
    const paths = ((await bad.json()) as { problems: Array<{ path: string }> }).problems.map((p) => p.path)
    expect(paths).toEqual(expect.arrayContaining(['/body/latency', '/body/at']))

    const missing = await fetch(`${controller.url}/api/faults`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ ...doc, target: { container: 'no-such-container-xyz' } }),
    })
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { detail: string }).detail).toMatch(/no container "no-such-container-xyz"/)
    expect(await marksIn(target.pid)).toEqual(noMarks)

    expect(
      (await fetch(`${controller.url}/api/faults/adhoc-nothere`, { method: 'DELETE', headers: auth })).status,
    ).toBe(404)
  })
})
