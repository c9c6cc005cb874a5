import { describe, expect, it } from 'vitest'
import { compileRequest, type SendValues } from '../../apps/agent/src/load/request-bytes.js'

const values = (seq: number, row: Record<string, string> = {}): SendValues => ({
  seq,
  nowMs: Date.UTC(2026, 11, 3, 8, 0, 0, 123),
  uuid: () => `uuid-${seq}`,
  randomInt: (min, max) => max - min,
  row: () => row,
})

describe('compileRequest', () => {
  it('builds a request without templates once, as autocannon would (Host, keep-alive, headers, length)', () => {
    const { render } = compileRequest({
      method: 'POST',
      path: '/orders?x=1',
      host: '127.0.0.1:8080',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    })
    const first = render(values(0))
    expect(first.path).toBe('/orders?x=1')
    expect(first.bytes.toString()).toBe(
      'POST /orders?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: keep-alive\r\n' +
        'content-type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}',
    )
    // The same buffer every time: nothing is rendered per send.
    expect(render(values(1))).toBe(first)
  })

  it('renders templates per send: path values percent-encoded, headers and body as they are', () => {
    const { render } = compileRequest({
      method: 'POST',
      path: '/products/{{ data.skus.sku }}/{{ seq }}',
      host: 'shop:80',
      headers: { host: 'shop.example', 'x-request-id': '{{ uuid }}' },
      body: '{"sku":"{{ data.skus.sku }}","qty":{{ randomInt 1 5 }},"at":"{{ now }}","n":"é"}',
    })
    const rendered = render(values(7, { sku: 'A B/1' }))
    expect(rendered.path).toBe('/products/A%20B%2F1/7')
    const text = rendered.bytes.toString()
    const bodyText = '{"sku":"A B/1","qty":4,"at":"2026-12-03T08:00:00.123Z","n":"é"}'
    expect(text).toBe(
      'POST /products/A%20B%2F1/7 HTTP/1.1\r\nConnection: keep-alive\r\nhost: shop.example\r\n' +
        `x-request-id: uuid-7\r\nContent-Length: ${Buffer.byteLength(bodyText)}\r\n\r\n${bodyText}`,
    )
    expect(render(values(8, { sku: 'C' })).bytes.toString()).toMatch(/^POST \/products\/C\/8 /)
  })

  it('sends no Content-Length for an empty body', () => {
    const { render } = compileRequest({ method: 'GET', path: '/{{ seq }}', host: 'h:1', headers: {}, body: '' })
    expect(render(values(3)).bytes.toString()).toBe('GET /3 HTTP/1.1\r\nHost: h:1\r\nConnection: keep-alive\r\n\r\n')
  })
})
