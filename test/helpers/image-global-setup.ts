import type { TestProject } from 'vitest/node'
import { dockerAvailable } from './docker.js'
import { ensureGauntletImage } from './gauntlet-image.js'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why globalSetup's `npm run image` failed ("" when it did not run or succeeded). */
    gauntletImageError: string
  }
}

/**
 * vitest globalSetup: builds gauntlet:local once for the whole run, before any test file, when a
 * Docker engine answers and the run includes files that use the image (test/deploy, test/docker).
 * A run of other files only (`vitest run test/unit/...`) does not pay for a build. Without an engine
 * nothing is built here; the Docker test files themselves then skip, or fail under CI.
 * A failed build does not stop the run: the files that need the image fail with its error
 * (ensureGauntletImage reads it), every other file runs as usual.
 */
function selectsImageTests(argv: readonly string[]): boolean {
  const at = argv.findIndex((a) => a === 'run' || a.endsWith('vitest') || a.endsWith('vitest.mjs'))
  const filters = argv.slice(at + 1).filter((a) => a !== 'run' && !a.startsWith('-'))
  // No file filter: the whole suite runs, the Docker files with it. A filter naming another file
  // (`compose.test.ts`) builds later, in that file's beforeAll.
  return filters.length === 0 || filters.some((f) => /deploy|docker/.test(f))
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide('gauntletImageError', '')
  if (process.env.GAUNTLET_IMAGE_BUILD === '0') return
  if (!selectsImageTests(process.argv)) return
  if (!(await dockerAvailable())) return
  try {
    await ensureGauntletImage()
  } catch (error) {
    console.error(`[gauntlet-image] ${(error as Error).message}`)
    project.provide('gauntletImageError', (error as Error).message)
  }
}
