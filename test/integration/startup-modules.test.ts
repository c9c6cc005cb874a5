import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const helper = new URL('../helpers/loaded-modules.mjs', import.meta.url).pathname
const root = new URL('../../', import.meta.url).href

/**
 * What a fresh process loads to import `specifier`: the packages (node_modules/<name>) and repository folders
 * (apps/x, packages/x) it loads from, and the files (paths from the repository root).
 */
async function loadedBy(specifier: string): Promise<{ places: Set<string>; files: Set<string> }> {
  const { stdout } = await promisify(execFile)(process.execPath, [helper, specifier], { cwd: new URL(root).pathname })
  const places = new Set<string>()
  const files = new Set<string>()
  for (const line of stdout.split('\n')) {
    const url = /^module (\S+)$/.exec(line)?.[1]
    if (!url?.startsWith(root)) continue
    const path = url.slice(root.length)
    files.add(path)
    const place = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? /^(?:apps|packages)\/[^/]+/.exec(path)?.[0]
    if (place) places.add(place)
  }
  return { places, files }
}

/**
 * What start-up loads, from the built dist/ as `gauntlet run` runs it: each isolate pays for every module it
 * loads (TypeBox alone is ~200 ES modules, ~90 ms of CPU), so what each side needs is kept out of the others.
 */
describe('modules loaded at start-up', () => {
  it('@gauntlet/contracts/plain loads no schema library', async () => {
    const { places } = await loadedBy('@gauntlet/contracts/plain')
    expect([...places]).toEqual(['packages/contracts'])
  })

  it("the load thread's generator loads no TypeBox, no HTTP server and no Docker client", async () => {
    // load-worker.js is this module plus node:worker_threads (it needs a parent port, so it is not imported here).
    const { places } = await loadedBy('./apps/agent/dist/load/load-generator.js')
    expect(places).toContain('autocannon')
    for (const absent of ['@sinclair/typebox', 'fastify', 'dockerode', 'yaml', 'better-sqlite3'])
      expect(places, absent).not.toContain(absent)
  })

  it("the embedded agent's main-thread side (@gauntlet/agent/generator) loads no autocannon, HTTP server or Docker client", async () => {
    const { places } = await loadedBy('@gauntlet/agent/generator')
    for (const absent of ['autocannon', 'fastify', 'dockerode']) expect(places, absent).not.toContain(absent)
  })

  it("@gauntlet/metrics loads hdr-histogram-js's JavaScript histograms only: not its index, WebAssembly build or encoding (pako)", async () => {
    const { places, files } = await loadedBy('@gauntlet/metrics')
    expect(files).toContain('node_modules/hdr-histogram-js/dist/Float64Histogram.js')
    for (const absent of [
      'index.js',
      'wasm/index.js',
      'wasm/generated-wasm.js',
      'JsHistogram.encoding.js',
      'Recorder.js',
    ])
      expect(files, absent).not.toContain(`node_modules/hdr-histogram-js/dist/${absent}`)
    for (const absent of ['pako', 'base64-js', '@assemblyscript/loader']) expect(places, absent).not.toContain(absent)
  })

  it('gauntlet run loads no fault engine, controller client, report renderer or TypeBox Value for a run without faults', async () => {
    const { places, files } = await loadedBy('./apps/controller/dist/cli/run-command.js')
    for (const absent of ['autocannon', 'fastify', 'dockerode']) expect(places, absent).not.toContain(absent)
    // TypeBox as one bundled module (~8 ms of CPU), not the package's ~210 (~80 ms).
    expect(files).toContain('packages/contracts/dist/typebox.bundle.js')
    expect(places).not.toContain('@sinclair/typebox')
    for (const absent of [
      'packages/faults/dist/index.js',
      'apps/controller/dist/cli/controller-client.js',
      'apps/controller/dist/report/report-formats.js',
      'node_modules/@sinclair/typebox/build/esm/value/index.mjs',
      'node_modules/@sinclair/typebox/build/esm/compiler/index.mjs',
    ])
      expect(files, absent).not.toContain(absent)
  })
})
