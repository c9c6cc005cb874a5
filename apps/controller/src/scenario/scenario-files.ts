import { GauntletError, maxPemChars, type Problem, type TargetTls } from '@gauntlet/contracts'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { open, realpath } from 'node:fs/promises'
import { isAbsolute, resolve, sep } from 'node:path'
import { createSecureContext } from 'node:tls'
import type { Scenario } from './scenario.js'

/**
 * Files a scenario names (target.tls.ca/cert/key here; data sets and body files: run-inputs.ts), read once before a run so
 * agents get contents, never paths. Where a path may point depends on who sent the scenario:
 * - the CLI's own scenario file: relative to that file's directory (the user's own machine);
 * - anything sent to the controller (REST, stored scenarios, schedules): only under --files-dir
 *   (GAUNTLET_FILES_DIR), checked on the real path so `..` and symlinks cannot leave it; without it a
 *   caller could make the controller read (and send to agents) any file it can read, so paths are refused.
 */
export type FileRoot = { scenarioDir: string } | { filesDir: string | undefined }

/** Inline PEM starts like this; anything else is a path. */
const pemStart = '-----BEGIN'

type PemField = 'ca' | 'cert' | 'key'

/**
 * The scenario with every target.tls PEM field holding PEM contents (read and parsed). Every problem
 * (missing file, path outside the files directory, PEM that does not parse, key not matching the
 * certificate) is reported at once, each naming its field (`/target/tls/ca`), as `invalid_scenario`.
 * `locate` adds line:column to the problems when the caller has the YAML.
 */
export async function resolveScenarioFiles(
  scenario: Scenario,
  root: FileRoot,
  source: string,
  locate: (problems: Problem[]) => Promise<Problem[]> | Problem[] = (problems) => problems,
): Promise<Scenario> {
  const tls = scenario.target.tls
  if (!tls) return scenario
  const problems: Problem[] = []
  const resolved: TargetTls = { ...tls }
  for (const field of ['ca', 'cert', 'key'] as const) {
    const written = tls[field]
    if (written === undefined) continue
    const path = `/target/tls/${field}`
    try {
      const pem = written.trimStart().startsWith(pemStart)
        ? written
        : await readScenarioText(written, root, maxPemChars)
      checkPem(field, pem)
      resolved[field] = pem
    } catch (error) {
      problems.push({ path, message: (error as Error).message })
    }
  }
  if (problems.length === 0 && resolved.cert !== undefined && resolved.key !== undefined) {
    const mismatch = pairProblem(resolved.cert, resolved.key)
    if (mismatch) problems.push({ path: '/target/tls/key', message: mismatch })
  }
  if (problems.length > 0) {
    throw new GauntletError(
      'invalid_scenario',
      `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
      { problems: await locate(problems), source },
    )
  }
  return { ...scenario, target: { ...scenario.target, tls: resolved } }
}

/** A file the scenario names, read from where `root` allows, refused above `maxBytes`. */
export async function readScenarioText(written: string, root: FileRoot, maxBytes: number): Promise<string> {
  let file: string
  if ('scenarioDir' in root) file = resolve(root.scenarioDir, written)
  else {
    if (root.filesDir === undefined)
      throw new Error(
        `"${written}" is a file path, and this controller reads no files for scenarios: give the PEM inline, ` +
          'or start it with --files-dir (GAUNTLET_FILES_DIR) and put the file there',
      )
    const base = await realpath(root.filesDir)
    file = await realpathOrSame(isAbsolute(written) ? written : resolve(base, written))
    if (file !== base && !file.startsWith(base + sep))
      throw new Error(`"${written}" is outside the controller's files directory (--files-dir)`)
  }
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      `cannot read "${written}": ${error.code === 'ENOENT' ? 'no such file' : (error.code ?? error.message)}`,
    )
  })
  try {
    const { size } = await handle.stat()
    if (size > maxBytes) throw new Error(`"${written}" is larger than ${maxBytes} bytes`)
    return await handle.readFile('utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw code ? new Error(`cannot read "${written}": ${code}`) : error
  } finally {
    await handle.close()
  }
}

/** The real path (symlinks followed), or the path itself when it does not exist (opening it says so). */
async function realpathOrSame(file: string): Promise<string> {
  try {
    return await realpath(file)
  } catch {
    return file
  }
}

/** Throws a message a person can act on when `pem` is not what `field` needs. */
function checkPem(field: PemField, pem: string): void {
  if (!pem.includes(pemStart)) throw new Error(`not PEM (expected text with ${pemStart} ...)`)
  try {
    if (field === 'key') createPrivateKey(pem)
    // A CA bundle may hold several certificates: each must parse (Node's `ca` option skips bad ones silently).
    else if (field === 'ca') certificates(pem).forEach((one) => new X509Certificate(one))
    else new X509Certificate(pem)
  } catch (error) {
    // The messages of OpenSSL never quote the input, so they are safe to show (even for a key).
    const what = field === 'key' ? 'private key (unencrypted PEM)' : 'certificate'
    throw new Error(`not a valid ${what}: ${(error as Error).message}`)
  }
}

/** The certificate blocks of a PEM bundle; none is a problem. */
function certificates(pem: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []
  if (blocks.length === 0) throw new Error('no -----BEGIN CERTIFICATE----- block')
  return blocks
}

function pairProblem(cert: string, key: string): string | undefined {
  try {
    createSecureContext({ cert, key })
    return undefined
  } catch (error) {
    return `the key does not belong to the client certificate: ${(error as Error).message}`
  }
}
