// The dashboard reads a run's event stream with fetch (EventSource cannot send the token), so it parses
// SSE itself: events may be cut anywhere between chunks, and the id and retry must be kept for resuming.
import { describe, expect, it } from 'vitest'
import { SseParser, type SseEvent } from '../../packages/dashboard/src/run-events.js'

const stream =
  'event: status\ndata: {"status":"running","summary":null}\nretry: 1000\n\n' +
  ': heartbeat\n\n' +
  'event: window\ndata: {"index":0}\nid: 1-0\n\n' +
  'event: decision\r\ndata: {"a":1}\r\ndata: {"b":2}\r\nid: 1-1\r\n\r\n' +
  'event: window\ndata:{"index":1}\n\n'

const expected: SseEvent[] = [
  { event: 'status', data: '{"status":"running","summary":null}', id: undefined },
  { event: 'window', data: '{"index":0}', id: '1-0' },
  { event: 'decision', data: '{"a":1}\n{"b":2}', id: '1-1' },
  // No id: field: the last id stays (as EventSource keeps it).
  { event: 'window', data: '{"index":1}', id: '1-1' },
]

describe('SseParser', () => {
  it.each([1, 2, 3, 7, 1000])('gives the same events whatever the chunk size (%i)', (size) => {
    const parser = new SseParser()
    const events: SseEvent[] = []
    for (let i = 0; i < stream.length; i += size) events.push(...parser.push(stream.slice(i, i + size)))
    expect(events).toEqual(expected)
    expect(parser.lastId).toBe('1-1')
    expect(parser.retryMs).toBe(1000)
  })

  it('holds back an event until its blank line, and a lone CR until the next chunk', () => {
    const parser = new SseParser()
    expect(parser.push('event: window\ndata: {"index":3}\r')).toEqual([])
    expect(parser.push('\n')).toEqual([])
    expect(parser.push('\n')).toEqual([{ event: 'window', data: '{"index":3}', id: undefined }])
  })

  it('ignores a bad retry and an event with no data', () => {
    const parser = new SseParser()
    expect(parser.push('retry: soon\nevent: nothing\n\n')).toEqual([])
    expect(parser.retryMs).toBeUndefined()
  })
})
