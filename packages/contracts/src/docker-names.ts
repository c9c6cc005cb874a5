/**
 * Docker's grammar for what a fault target names. A fault target reaches the Docker API as a path
 * segment (`/containers/<name>/json`) or inside a label filter, so anything outside this grammar
 * (`../images/x`, `a b`, `%2e%2e`) is refused before any Docker API call: by the scenario and fault
 * schemas at load time, and again by the agent's Docker adapter.
 *
 * - Container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (the daemon's own rule; the API prefixes a "/"
 *   on names it returns, accepted there only). Ids, 12–64 lowercase hex, fit the same grammar.
 * - Label keys: alphanumeric with `.`, `_`, `/`, `-` (Docker's object-label docs), beginning and
 *   ending alphanumeric. Values: any text without whitespace or control characters.
 * - Compose service names: `[a-zA-Z0-9._-]+` (the Compose specification's service key pattern).
 */

export const containerNamePattern = '^[a-zA-Z0-9][a-zA-Z0-9_.-]+$'
const labelKeyPattern = '^[a-zA-Z0-9](?:[a-zA-Z0-9._/-]*[a-zA-Z0-9])?$'
const labelValuePattern = '^[^\\s\\x00-\\x1f\\x7f]*$'
/** A label selector as a fault target writes it: key=value. */
export const labelSelectorPattern = `^${labelKeyPattern.slice(1, -1)}=${labelValuePattern.slice(1, -1)}$`
export const composeServicePattern = '^[a-zA-Z0-9._-]+$'

export const maxContainerRefLength = 200
export const maxLabelLength = 1000
export const maxServiceLength = 200

const containerName = new RegExp(containerNamePattern)
const labelSelector = new RegExp(labelSelectorPattern)
const composeService = new RegExp(composeServicePattern)

/** A container name or id as a user writes it (no leading "/"). */
export function isContainerRef(text: string): boolean {
  return text.length <= maxContainerRefLength && containerName.test(text)
}

/** A label selector, key=value. */
export function isLabelSelector(text: string): boolean {
  return text.length <= maxLabelLength && labelSelector.test(text)
}

export function isComposeService(text: string): boolean {
  return text.length <= maxServiceLength && composeService.test(text)
}

/** What is wrong with a selector value, or undefined when it fits Docker's grammar. */
export function dockerSelectorProblem(kind: 'container' | 'label' | 'service', value: string): string | undefined {
  switch (kind) {
    case 'container':
      return isContainerRef(value) ? undefined : containerHint
    case 'label':
      return isLabelSelector(value) ? undefined : labelHint
    case 'service':
      return isComposeService(value) ? undefined : serviceHint
  }
}

export const containerHint =
  `expected a Docker container name ([a-zA-Z0-9][a-zA-Z0-9_.-]+, at most ${maxContainerRefLength} characters) ` +
  `or id`
export const labelHint =
  `expected a Docker label key=value: the key alphanumeric with . _ / - inside, the value without spaces or ` +
  `control characters, at most ${maxLabelLength} characters`
export const serviceHint = `expected a compose service name ([a-zA-Z0-9._-]+, at most ${maxServiceLength} characters)`
