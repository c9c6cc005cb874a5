import { parseStatusList, type StatusRange } from '@gauntlet/contracts/plain'

/** What the scenario (or an assignment) says a good response is, as written. */
export interface ExpectedResponse {
  expectStatus?: Array<number | string>
  expectBodyContains?: string
  expectHeader?: Record<string, string>
  followRedirects?: boolean
}

/** The same, ready for the hot path: ranges parsed, header names lower-cased. */
export interface ResponseExpectation {
  /** Absent: any 2xx (see isExpectedStatus). */
  status?: StatusRange[]
  bodyContains?: string
  /** [lower-case name, text its value must contain] */
  header?: Array<[string, string]>
  followRedirects: boolean
}

/** Undefined when the target states nothing beyond the default (any 2xx, no checks, no redirects). */
export function responseExpectationFor(target: ExpectedResponse): ResponseExpectation | undefined {
  const header = target.expectHeader && Object.entries(target.expectHeader)
  if (
    target.expectStatus === undefined &&
    target.expectBodyContains === undefined &&
    !header?.length &&
    target.followRedirects !== true
  )
    return undefined
  return {
    ...(target.expectStatus !== undefined ? { status: parseStatusList(target.expectStatus) } : {}),
    ...(target.expectBodyContains !== undefined ? { bodyContains: target.expectBodyContains } : {}),
    ...(header?.length ? { header: header.map(([name, text]): [string, string] => [name.toLowerCase(), text]) } : {}),
    followRedirects: target.followRedirects === true,
  }
}

/**
 * Whether every expected header is present with a value containing its text. `raw` is the parser's flat
 * [name, value, name, value, ...]; a header sent several times passes when any of its values does.
 */
export function headersMatch(expected: ReadonlyArray<readonly [string, string]>, raw: readonly string[]): boolean {
  for (const [name, text] of expected) {
    if (headerValues(raw, name).every((value) => !value.includes(text))) return false
  }
  return true
}

/** The values of header `name` (lower case), in order. */
export function headerValues(raw: readonly string[], name: string): string[] {
  const values: string[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) values.push(raw[i + 1]!)
  }
  return values
}
