import { GauntletError } from '@gauntlet/contracts'
import { describe, expect, it } from 'vitest'
import { parseScenario } from '../../apps/controller/src/scenario/load-scenario.js'

const yaml = (url: string, tls: string): string =>
  `name: t\ntarget:\n  url: ${url}\n  tls: ${tls}\nload: { steps: [ { rps: 1, duration: 1s } ] }\n`

function problems(text: string): Array<{ path: string; message: string; line?: number }> {
  try {
    parseScenario(text)
  } catch (error) {
    expect(error).toBeInstanceOf(GauntletError)
    return (error as GauntletError).problems
  }
  throw new Error('expected a refusal')
}

describe('target.tls (as written: nothing read yet)', () => {
  it('keeps ca/cert/key as written and insecure false by default', () => {
    const scenario = parseScenario(yaml('https://x/', '{ ca: ./ca.pem, cert: c.pem, key: c.key, serverName: y }'))
    expect(scenario.target.tls).toEqual({
      ca: './ca.pem',
      cert: 'c.pem',
      key: 'c.key',
      serverName: 'y',
      insecure: false,
    })
  })

  it.each([
    ['{ cert: c.pem }', '/target/tls/cert', /needs its private key/],
    ['{ key: c.key }', '/target/tls/key', /needs its client certificate/],
    [
      '{ verify: false }',
      '/target/tls/verify',
      /unknown key "verify"; expected one of: ca, cert, key, serverName, insecure/,
    ],
    ['{ insecure: "yes" }', '/target/tls/insecure', /boolean/],
    ['{ ca: "" }', '/target/tls/ca', /length/],
  ])('%s -> %s', (tls, path, message) => {
    expect(problems(yaml('https://x/', tls))).toMatchObject([{ path, message, line: 4 }])
  })

  it('applies to https targets only', () => {
    expect(problems(yaml('http://x/', '{ insecure: true }'))).toMatchObject([
      { path: '/target/tls', message: /https:\/\/ targets only/ },
    ])
  })
})
