import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { inject } from 'vitest'

/**
 * The Gauntlet image for tests that run it (test/deploy, the holder tests in test/docker): built by
 * `npm run image` (scripts/image.sh) when it is missing or was built from other sources than the
 * checkout's. "Other sources" is decided by content, not time: scripts/image-inputs.mjs hashes the
 * build context and the image carries that hash as its label `gauntlet.inputs`.
 *
 * vitest's globalSetup (test/helpers/image-global-setup.ts) calls ensureGauntletImage() once for the
 * whole run, before any test file; a file that needs the image calls it again in beforeAll, which then
 * only compares the label (under a second) and builds when that file runs on its own.
 */
export const gauntletImage = process.env.GAUNTLET_IMAGE ?? 'gauntlet:local'

const root = new URL('../../', import.meta.url).pathname
const run = promisify(execFile)

/** The hash of the sources the image would be built from now. */
export async function sourceInputs(): Promise<string> {
  const { stdout } = await run(process.execPath, ['scripts/image-inputs.mjs'], { cwd: root })
  return stdout.trim()
}

/** The `gauntlet.inputs` label of the image, or undefined when the image does not exist. */
export async function imageInputs(image = gauntletImage): Promise<string | undefined> {
  try {
    const { stdout } = await run('docker', [
      'image',
      'inspect',
      '--format',
      '{{ index .Config.Labels "gauntlet.inputs" }}',
      image,
    ])
    return stdout.trim()
  } catch {
    return undefined
  }
}

/** Runs `npm run image`, its output on this process's stderr (a build takes minutes: show progress). */
function buildImage(): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn('npm', ['run', 'image'], {
      cwd: root,
      stdio: ['ignore', process.stderr, process.stderr],
      env: { ...process.env, GAUNTLET_IMAGE: gauntletImage },
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (code === 0) {
        console.error(`[gauntlet-image] ${gauntletImage} built in ${Math.round((Date.now() - started) / 1000)} s`)
        resolve()
      } else reject(new Error(`npm run image failed (${signal ?? `exit ${code}`}); its output is above`))
    })
  })
}

let ensured: Promise<void> | undefined

/** The globalSetup's build error, inside a test file ("" elsewhere or when there was none). */
function globalSetupError(): string {
  try {
    return inject('gauntletImageError') ?? ''
  } catch {
    return '' // not in a test worker (the globalSetup itself)
  }
}

/**
 * Builds the image unless it exists and matches the sources; once per process whatever the callers.
 * When the run's globalSetup already failed to build it, fails with that error instead of building again.
 */
export function ensureGauntletImage(): Promise<void> {
  ensured ??= (async () => {
    const failed = globalSetupError()
    if (failed) throw new Error(`building ${gauntletImage} failed in globalSetup: ${failed}`)
    const [want, have] = await Promise.all([sourceInputs(), imageInputs()])
    if (have === want) return
    console.error(
      `[gauntlet-image] ${gauntletImage} ${have === undefined ? 'is missing' : `was built from other sources (${have || 'no label'}, now ${want})`}: npm run image`,
    )
    await buildImage()
    const built = await imageInputs()
    if (built !== want) throw new Error(`npm run image finished but ${gauntletImage} has inputs ${built}, not ${want}`)
  })()
  return ensured
}
