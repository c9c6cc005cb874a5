import { describe, expect, it } from 'vitest'
import { envReferences, parseTemplate, substituteEnv } from '../../packages/contracts/src/request-template.js'

describe('parseTemplate', () => {
  it('splits text and expressions into parts, once', () => {
    expect(parseTemplate('{"id":"{{ uuid }}","qty":{{randomInt 1 5}},"n":{{ seq }},"at":"{{ now }}"}')).toEqual({
      ok: true,
      parts: [
        { kind: 'text', text: '{"id":"' },
        { kind: 'uuid' },
        { kind: 'text', text: '","qty":' },
        { kind: 'randomInt', min: 1, max: 5 },
        { kind: 'text', text: ',"n":' },
        { kind: 'seq' },
        { kind: 'text', text: ',"at":"' },
        { kind: 'now' },
        { kind: 'text', text: '"}' },
      ],
    })
    expect(parseTemplate('/api/products/{{ data.skus.sku }}')).toEqual({
      ok: true,
      parts: [
        { kind: 'text', text: '/api/products/' },
        { kind: 'data', set: 'skus', column: 'sku' },
      ],
    })
  })

  it('keeps text without templates as one part, and "{{{{" as a literal "{{"', () => {
    expect(parseTemplate('plain')).toEqual({ ok: true, parts: [{ kind: 'text', text: 'plain' }] })
    expect(parseTemplate('')).toEqual({ ok: true, parts: [{ kind: 'text', text: '' }] })
    expect(parseTemplate('a {{{{ b }} c')).toEqual({ ok: true, parts: [{ kind: 'text', text: 'a {{ b }} c' }] })
  })

  it.each([
    ['{{ uuid', /"\{\{" at character 1 is never closed/],
    ['x {{ }}', /at character 3: an empty \{\{ \}\}; expected one of/],
    ['{{ random }}', /unknown expression "random"; expected one of \{\{ uuid \}\}/],
    ['{{ uuid 4 }}', /\{\{ uuid \}\} takes no arguments/],
    ['{{ randomInt 1 }}', /takes two integers/],
    ['{{ randomInt 1 x }}', /takes two integers/],
    ['{{ randomInt 1.5 2 }}', /takes two integers/],
    ['{{ randomInt 9 2 }}', /the first bound must not be larger/],
    ['{{ randomInt 0 999999999999999 }}', /the range is under 2\^48 wide/],
    ['{{ randomInt 0 281474976710655 }}', /the range is under 2\^48 wide/],
    ['{{ data.skus }}', /unknown expression "data.skus"/],
    ['{{ data.s!k.u }}', /data set and column names are letters/],
    ['{{ env.TOKEN }}', /unknown expression "env.TOKEN"/],
  ])('refuses %s, saying why and where', (source, message) => {
    const parsed = parseTemplate(source)
    expect(parsed.ok).toBe(false)
    expect(!parsed.ok && parsed.message).toMatch(message)
  })
})

describe('envReferences and substituteEnv', () => {
  it('finds ${env.NAME} references and substitutes them, "$${" staying a literal "${"', () => {
    const value = 'Bearer ${env.API_TOKEN} and $${env.NOT} and ${env.B}'
    const scan = envReferences(value)
    expect(scan).toEqual({
      ok: true,
      references: [
        { name: 'API_TOKEN', start: 7, end: 23 },
        { name: 'B', start: 44, end: 52 },
      ],
    })
    if (!scan.ok) return
    expect(substituteEnv(value, scan.references, (name) => `<${name}>`)).toBe(
      'Bearer <API_TOKEN> and ${env.NOT} and <B>',
    )
  })

  it.each([
    ['Bearer ${API_TOKEN}', /"\$\{API_TOKEN\}" at character 8 is not an environment reference: write \$\{env\.NAME\}/],
    ['${env.}', /"\$\{env\.\}" at character 1/],
    ['${env.A-B}', /is not an environment reference/],
    ['${env.TOKEN', /"\$\{env\.TOKEN" at character 1/],
  ])('refuses %s instead of sending it literally', (value, message) => {
    const scan = envReferences(value)
    expect(scan.ok).toBe(false)
    expect(!scan.ok && scan.message).toMatch(message)
  })
})
