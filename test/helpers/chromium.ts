import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

/** Debian's chromium, never a downloaded browser. */
const chromiumPath = '/usr/bin/chromium'

/** Whether the browser tests can run; in CI a missing chromium fails them instead of skipping. */
export function chromiumAvailable(what: string): boolean {
  const available = existsSync(chromiumPath)
  if (!available && process.env.CI) throw new Error(`${chromiumPath} is missing: ${what} must run in CI`)
  return available
}

export interface Chromium {
  context: BrowserContext
  /** Closes the browser and removes its profile. */
  close(): Promise<void>
}

/** A headless chromium with a throwaway profile and no background traffic of its own. */
export async function launchChromium(options: { acceptDownloads?: boolean } = {}): Promise<Chromium> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'gauntlet-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1200, height: 900 },
    ...(options.acceptDownloads ? { acceptDownloads: true } : {}),
  })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(userDataDir, { recursive: true, force: true })
    },
  }
}
