import { describe, expect, it } from 'vitest'
import { sseMessages } from '../../apps/controller/src/cli/sse-messages.js'

async function read(...chunks: string[]) {
  const encoder = new TextEncoder()
  const messages = []
  for await (const message of sseMessages(chunks.map((chunk) => encoder.encode(chunk)))) messages.push(message)
  return messages
}

describe('sseMessages (the CLI reading a run event stream)', () => {
  it('reads event, data, id and retry in any order; skips comments; joins data lines', async () => {
    expect(
      await read(
        'event: status\ndata: {"status":"running"}\nretry: 1000\n\n',
        ': heartbeat\n\n',
        'id: 3-1\nevent: window\ndata: a\ndata: b\n\n',
      ),
    ).toEqual([
      { event: 'status', data: '{"status":"running"}', retry: 1000 },
      { id: '3-1', event: 'window', data: 'a\nb' },
    ])
  })

  it('reassembles messages split anywhere across chunks, CRLF included; drops an unfinished last message', async () => {
    expect(await read('event: win', 'dow\r', '\ndata: 1\r\n', '\r\nevent: window\ndata: 2\n')).toEqual([
      { event: 'window', data: '1' },
    ])
  })
})
