/** Text quantities of fault documents (schema-valid: the patterns already matched) into numbers. */

const rateUnits: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
}

/** tc's spelling: bit/kbit/mbit/gbit are bits per second, bps/kbps/mbps/gbps bytes per second. */
export function parseRate(text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)([a-z]+)$/.exec(text)!
  return Math.round(Number(match[1]) * rateUnits[match[2]!]!)
}

const byteUnits: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 * 1024, kbit: 128, mbit: 131072 }

export function parseBytes(text: string): number {
  const match = /^([0-9]+)([a-z]*)$/.exec(text)!
  return Number(match[1]) * byteUnits[match[2]!]!
}

export function isIpv4OrCidr(text: string): boolean {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text)
  if (!match) return false
  return match.slice(1, 5).every((octet) => Number(octet) <= 255) && (match[5] === undefined || Number(match[5]) <= 32)
}
