import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type YAMLMap } from 'yaml'

/**
 * Credentials a scenario carries (target header values) are stored so runs can send them, but never
 * shown: every response, summary and printed line goes through this module.
 */
export const redacted = '«redacted»'

/** Headers that are credentials by name (and what the controller's log never writes). */
export const credentialHeaderNames: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'api-key',
])
/**
 * Any name with one of these parts looks like a credential ("x-vault-token", "x-client-secret",
 * "Ocp-Apim-Subscription-Key", "x-functions-key", "x-hub-signature-256", "x-jwt", "x-csrf-token").
 * Hiding a harmless value costs nothing; showing a credential is the failure to avoid.
 */
const credentialNameParts =
  /token|secret|pass|pwd|key|auth|cookie|session|credential|sig|jwt|csrf|xsrf|hmac|bearer|private/i

export function isCredentialHeader(name: string): boolean {
  return credentialHeaderNames.has(name.toLowerCase()) || credentialNameParts.test(name)
}

/** A copy of the headers with every credential value replaced. */
export function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, isCredentialHeader(name) ? redacted : value]),
  )
}

/**
 * The credential values written in a scenario's YAML: its target's credential headers, the values of
 * credential-looking query parameters of its URL, an inline target.tls.key, and any literal hook secret (scenarios stored before
 * literal secrets were refused). Read without validating, so an old stored scenario the current schema
 * refuses is still covered.
 */
export function scenarioSecrets(yaml: string): string[] {
  const doc = parseDocument(yaml, { uniqueKeys: false })
  const found: string[] = []
  collectSecretNodes(doc, (node) => {
    const value = isScalar(node) ? node.value : undefined
    if (typeof value === 'string' && value !== '') found.push(value)
    else if (typeof value === 'number' || typeof value === 'boolean') found.push(String(value))
  })
  // Credential-looking query parameters of every URL it calls: the target, its metrics, each hook.
  for (const url of [doc.getIn(['target', 'url']), doc.getIn(['targetMetrics', 'url']), ...hookUrls(doc)])
    found.push(...queryCredentials(url))
  return [...new Set(found)]
}

/**
 * The scenario's YAML text with each credential value replaced by «redacted» in place: comments,
 * order and formatting of everything else are kept. A YAML that cannot be parsed is not shown at all.
 */
export function redactScenarioYaml(yaml: string): string {
  const doc = parseDocument(yaml, { uniqueKeys: false })
  if (doc.errors.length > 0) return `# ${redacted}: this stored scenario could not be parsed to hide its credentials\n`
  const ranges: Array<[number, number]> = []
  collectSecretNodes(doc, (node) => {
    if (node.range) ranges.push([node.range[0], node.range[1]])
  })
  // Right to left, so earlier offsets stay valid; an anchor shared by two headers is replaced once.
  const unique = [...new Map(ranges.map((r) => [r[0], r])).values()].sort((a, b) => b[0] - a[0])
  let text = yaml
  for (const [start, end] of unique) {
    const original = text.slice(start, end)
    // A block scalar's range ends with its line break; the next key must stay on its own line.
    text = `${text.slice(0, start)}"${redacted}"${original.endsWith('\n') ? '\n' : ''}${text.slice(end)}`
  }
  // The same value written anywhere else (a body, a comment) is hidden too.
  return scrubSecrets(text, scenarioSecrets(yaml))
}

/**
 * Replaces every occurrence of a secret inside every string of a JSON-like value (a summary, a reason,
 * a printed line). Secrets shorter than 4 characters are left: replacing them would mangle ordinary text.
 */
export function scrubSecrets<T>(value: T, secrets: readonly string[]): T {
  const effective = secrets.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length)
  if (effective.length === 0) return value
  return scrub(value, effective) as T
}

function scrub(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return secrets.reduce((text, secret) => text.split(secret).join(redacted), value)
  if (Array.isArray(value)) return value.map((item) => scrub(item, secrets))
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, secrets)]))
  return value
}

/** Values of credential-looking query parameters of a URL (`?api_key=...`, `?token=...`), also as encoded. */
export function queryCredentials(url: unknown): string[] {
  if (typeof url !== 'string') return []
  try {
    return [...new URL(url).searchParams]
      .filter(([name, value]) => value !== '' && isCredentialHeader(name))
      .flatMap(([, value]) => [value, encodeURIComponent(value)])
  } catch {
    return []
  }
}

/** The `url` of every hook of the scenario, as written (aliases resolved). */
function hookUrls(doc: Document): unknown[] {
  const urls: unknown[] = []
  forEachHook(doc, (hook) => {
    const url = resolvedNode(doc, hook.get('url', true))
    if (isScalar(url)) urls.push(url.value)
  })
  return urls
}

/** The node a value is, or names (an alias), when it is a scalar, map or sequence. */
function resolvedNode(doc: Document, node: unknown): Node | undefined {
  if (isAlias(node)) return resolvedNode(doc, node.resolve(doc))
  return isScalar(node) || isMap(node) || isSeq(node) ? node : undefined
}

/** Calls `visit` with each hook's map, under every event of `hooks:`. */
function forEachHook(doc: Document, visit: (hook: YAMLMap) => void): void {
  const hooks = doc.get('hooks', true)
  if (!isMap(hooks)) return
  for (const event of hooks.items) {
    const list = resolvedNode(doc, event.value)
    if (!isSeq(list)) continue
    for (const item of list.items) {
      const hook = resolvedNode(doc, item)
      if (isMap(hook)) visit(hook)
    }
  }
}

const hookSecretReference = /^\$\{GAUNTLET_SECRET_[A-Za-z0-9_]+\}$/

/** Calls `visit` with each value node holding a credential (an alias visits the node it names). */
function collectSecretNodes(doc: Document, visit: (node: Node) => void): void {
  const resolved = (node: unknown): Node | undefined => resolvedNode(doc, node)
  const target = doc.getIn(['target', 'headers'], true)
  if (isMap(target)) {
    for (const pair of target.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : undefined
      const value = resolved(pair.value)
      if (name !== undefined && isCredentialHeader(name) && value) visit(value)
    }
  }
  // A client certificate's private key written inline; a path to it is kept as written (not a secret).
  const key = resolved(doc.getIn(['target', 'tls', 'key'], true))
  if (isScalar(key) && typeof key.value === 'string' && /^\s*-----BEGIN|«redacted»/.test(key.value)) visit(key)
  forEachHook(doc, (hook) => {
    const secret = resolved(hook.get('secret', true))
    if (isScalar(secret) && !(typeof secret.value === 'string' && hookSecretReference.test(secret.value))) visit(secret)
  })
}

/** Where lines are printed (the CLI's Output): every line goes through scrubSecrets first. */
export function scrubbedLines(
  out: { stdout(line: string): void; stderr(line: string): void },
  secrets: readonly string[],
): { stdout(line: string): void; stderr(line: string): void } {
  return {
    stdout: (line) => out.stdout(scrubSecrets(line, secrets)),
    stderr: (line) => out.stderr(scrubSecrets(line, secrets)),
  }
}
