import { AssignmentSchema, GauntletError, parseStatusItem } from '@gauntlet/contracts'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { BodyMatcher } from '../../apps/agent/src/load/body-matcher.js'
import { isRedirectStatus, redirectRequest, requestBytes } from '../../apps/agent/src/load/redirect.js'
import { headersMatch, responseExpectationFor } from '../../apps/agent/src/load/response-expectation.js'

/** The pure parts of response checks (target.expect, followRedirects): parsing, matching, redirect rules. */

describe('parseStatusItem', () => {
  it.each<[number | string, string]>([
    [200, '200-200'],
    ['200', '200-200'],
    ['200-299', '200-299'],
    ['301-301', '301-301'],
    ['2xx', '200-299'],
    ['5XX', '500-599'],
    ['1xx', '100-199'],
  ])('%j is the range %s', (item, range) => {
    const parsed = parseStatusItem(item)
    expect('range' in parsed && parsed.range.join('-')).toBe(range)
  })

  it.each<[number | string, RegExp]>([
    ['299-200', /runs backwards/],
    ['6xx', /classes are 1xx to 5xx/],
    ['0xx', /classes are 1xx to 5xx/],
    ['abc', /is not a status, a range/],
    ['200-', /is not a status, a range/],
    ['099-200', /outside the statuses 100-599/],
    ['200-600', /outside the statuses 100-599/],
    [600, /not a status/],
    [200.5, /not a status/],
  ])('%j is refused: %s', (item, reason) => {
    const parsed = parseStatusItem(item)
    expect('problem' in parsed && parsed.problem).toMatch(reason)
  })
})

describe('BodyMatcher', () => {
  /** Feeds `body` cut at `cuts` (byte offsets), each piece inside a larger buffer as the parser passes it. */
  function feed(text: string, body: string, cuts: number[]): boolean {
    const matcher = new BodyMatcher(text)
    const bytes = Buffer.from(body)
    let from = 0
    for (const to of [...cuts, bytes.length]) {
      const chunk = Buffer.concat([Buffer.from('HEADERS'), bytes.subarray(from, to), Buffer.from('NEXT')])
      matcher.feed(chunk, 7, to - from)
      from = to
    }
    return matcher.found
  }

  it.each<[string, string, number[], boolean]>([
    ['"status":"created"', '{"status":"created"}', [], true],
    ['"status":"created"', '{"status":"pending"}', [], false],
    ['created', '{"status":"created"}', [12], true], // cut inside the text
    ['created', '{"status":"created"}', [11, 12, 13, 14, 15, 16, 17], true], // one byte at a time across it
    ['created', '{"status":"cre', [], false],
    ['abc', 'a', [], false],
    ['abc', 'xab', [2], false],
    ['abc', 'xabc', [1, 2, 3], true],
    ['x', 'yyyx', [1, 2, 3], true],
    ['ü', 'grün', [3], true], // a two-byte character cut in half
    ['HEADERS', 'body', [], false], // bytes outside the body's range are not the body
    ['NEXT', 'body', [2], false],
  ])('%j in %j cut at %j: %s', (text, body, cuts, found) => {
    expect(feed(text, body, cuts)).toBe(found)
  })

  it('starts over for each response', () => {
    const matcher = new BodyMatcher('abc')
    matcher.feed(Buffer.from('xab'), 0, 3)
    matcher.reset()
    matcher.feed(Buffer.from('c'), 0, 1)
    expect(matcher.found).toBe(false)
    matcher.feed(Buffer.from('abc'), 0, 3)
    expect(matcher.found).toBe(true)
    matcher.reset()
    expect(matcher.found).toBe(false)
  })
})

describe('headersMatch', () => {
  const raw = [
    'Content-Type',
    'application/json; charset=utf-8',
    'X-Version',
    'v2',
    'Set-Cookie',
    'a=1',
    'Set-Cookie',
    'b=2',
  ]
  it.each<[Array<[string, string]>, boolean]>([
    [[['content-type', 'application/json']], true],
    [[['content-type', 'text/html']], false],
    [[['x-version', '']], true],
    [[['x-missing', '']], false],
    [[['set-cookie', 'b=2']], true], // any of its values
    [
      [
        ['content-type', 'json'],
        ['x-version', 'v3'],
      ],
      false,
    ],
    [
      [
        ['content-type', 'json'],
        ['x-version', 'v2'],
      ],
      true,
    ],
  ])('%j: %s', (expected, match) => {
    expect(headersMatch(expected, raw)).toBe(match)
  })

  it('is given lower-case names by responseExpectationFor, whatever the scenario wrote', () => {
    expect(responseExpectationFor({ expectHeader: { 'X-Version': 'v2' } })).toEqual({
      header: [['x-version', 'v2']],
      followRedirects: false,
    })
    expect(responseExpectationFor({})).toBeUndefined()
    expect(responseExpectationFor({ expectStatus: ['2xx', 302] })?.status).toEqual([
      [200, 299],
      [302, 302],
    ])
  })
})

describe('redirects', () => {
  const origins = new Set(['http://127.0.0.1:8080'])
  const base = new URL('http://127.0.0.1:8080/a/b?q=1')
  const post = { method: 'POST', path: '/a/b?q=1', withBody: true }
  const get = { method: 'GET', path: '/a/b', withBody: false }

  it.each<[number, string, typeof post, unknown]>([
    [302, '/moved', get, { method: 'GET', path: '/moved', withBody: false }],
    [301, 'c?x=2', get, { method: 'GET', path: '/a/c?x=2', withBody: false }],
    [302, 'http://127.0.0.1:8080/x#frag', get, { method: 'GET', path: '/x', withBody: false }],
    [302, '/moved', post, { method: 'GET', path: '/moved', withBody: false }],
    [301, '/moved', post, { method: 'GET', path: '/moved', withBody: false }],
    [303, '/moved', post, { method: 'GET', path: '/moved', withBody: false }],
    [303, '/moved', { method: 'PUT', path: '/', withBody: true }, { method: 'GET', path: '/moved', withBody: false }],
    [302, '/moved', { method: 'PUT', path: '/', withBody: true }, { method: 'PUT', path: '/moved', withBody: true }],
    [307, '/moved', post, { method: 'POST', path: '/moved', withBody: true }],
    [308, '/moved', post, { method: 'POST', path: '/moved', withBody: true }],
    [302, 'http://127.0.0.1:8081/x', get, undefined], // another port
    [302, 'https://127.0.0.1:8080/x', get, undefined], // another scheme
    [302, 'http://localhost:8080/x', get, undefined], // another host
    [302, '//example.com/x', get, undefined],
    [302, 'http://[::1', get, undefined], // not a URL
  ])('%i to %j after %j', (status, location, current, next) => {
    expect(redirectRequest(status, location, current, base, origins)).toEqual(next)
  })

  it.each([
    [301, true],
    [302, true],
    [303, true],
    [307, true],
    [308, true],
    [300, false],
    [304, false],
    [305, false],
    [200, false],
  ])('%i is followed: %s', (status, followed) => {
    expect(isRedirectStatus(status)).toBe(followed)
  })

  it('frames the followed request like the first: Host, keep-alive, the body only when it goes along', () => {
    const headers = { host: 'shop.local', 'content-type': 'application/json', authorization: 'Bearer t' }
    expect(requestBytes({ method: 'GET', path: '/moved', withBody: false }, headers, 'x', '{"a":1}').toString()).toBe(
      'GET /moved HTTP/1.1\r\nConnection: keep-alive\r\nhost: shop.local\r\nauthorization: Bearer t\r\n\r\n',
    )
    expect(requestBytes({ method: 'POST', path: '/m', withBody: true }, {}, '127.0.0.1:80', '{"a":1}').toString()).toBe(
      'POST /m HTTP/1.1\r\nHost: 127.0.0.1:80\r\nConnection: keep-alive\r\nContent-Length: 7\r\n\r\n{"a":1}',
    )
  })
})

describe('the assignment carries the expectation to remote agents', () => {
  // Field by field: the whole target's url has format "uri", which only the HTTP layer (ajv) knows.
  const fields = AssignmentSchema.properties.target.properties
  it.each<[keyof typeof fields, unknown, boolean]>([
    ['expectStatus', ['2xx', 302, '300-302'], true],
    ['expectStatus', ['abc'], false],
    ['expectBodyContains', 'ok', true],
    ['expectBodyContains', '', false],
    ['expectBodyContains', 'x'.repeat(4097), false],
    ['expectHeader', { 'x-a': 'b' }, true],
    ['expectHeader', Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-${i}`, ''])), false],
    ['followRedirects', true, true],
    ['followRedirects', 'yes', false],
  ])('%s %j is valid: %s', (field, value, valid) => {
    expect(Value.Check(fields[field], value)).toBe(valid)
  })

  it('refuses a status item only parsing can judge, as invalid input', () => {
    expect(Value.Check(fields.expectStatus, ['299-200'])).toBe(true)
    expect(() => responseExpectationFor({ expectStatus: [200, '299-200'] })).toThrow(
      /expectStatus\/1: "299-200" runs backwards/,
    )
    try {
      responseExpectationFor({ expectStatus: ['299-200'] })
    } catch (error) {
      expect(error).toBeInstanceOf(GauntletError)
      expect((error as GauntletError).code).toBe('invalid_scenario')
    }
  })
})
