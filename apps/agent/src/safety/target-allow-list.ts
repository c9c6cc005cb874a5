import { GauntletError } from '@gauntlet/contracts'
import { assertResolvesAllowed, loopbackAllow, normalizeHost, parseAllowList, type AllowList } from '@gauntlet/http'

/**
 * Which targets an agent may load: GAUNTLET_TARGET_ALLOW (the pattern grammar is in
 * packages/http/src/allow-list.ts). A load agent must never be an open traffic cannon, so the default
 * is loopback only.
 */
const defaultTargetAllow = loopbackAllow

export type TargetAllowList = AllowList

/** Parses the list; throws with the offending pattern named when one is not a valid pattern. */
export function parseTargetAllowList(text: string | undefined): TargetAllowList {
  return parseAllowList(text, 'GAUNTLET_TARGET_ALLOW', defaultTargetAllow)
}

/** Throws GauntletError('target_not_allowed') unless the URL's host is on the list. */
export function assertTargetAllowed(url: string, allow: TargetAllowList): void {
  assertHostAllowed(new URL(url).hostname, allow)
}

export function assertHostAllowed(host: string, allow: TargetAllowList): void {
  if (!allow.allowsHost(host)) {
    throw new GauntletError(
      'target_not_allowed',
      `target host ${normalizeHost(host)} is not allowed by GAUNTLET_TARGET_ALLOW (${allow.source}); agents ` +
        `only load hosts listed there`,
    )
  }
}

/**
 * The connect-time check: what the target's name resolves to now is allowed (see assertResolvesAllowed).
 * Throws GauntletError('target_not_allowed'), or 'target_unreachable' when the name does not resolve.
 */
export async function assertTargetResolvesAllowed(host: string, allow: TargetAllowList): Promise<void> {
  try {
    await assertResolvesAllowed(host, allow)
  } catch (error) {
    if (!(error instanceof GauntletError) || error.code !== 'forbidden') throw error
    throw new GauntletError(
      'target_not_allowed',
      `target ${error.message}; agents only load hosts GAUNTLET_TARGET_ALLOW allows`,
    )
  }
}

/** The agent's list, from its environment. */
export function targetAllowListFromEnv(): TargetAllowList {
  return parseTargetAllowList(process.env.GAUNTLET_TARGET_ALLOW)
}
