/** One server-sent event: the fields it carried (`data` lines joined by newlines). */
export interface SseMessage {
  event?: string
  data?: string
  id?: string
  /** The server's reconnection delay, ms. */
  retry?: number
}

/**
 * Reads a text/event-stream body into its messages (HTML's event stream format: fields in any order,
 * a blank line ends a message, `:` lines are comments). A trailing message without its blank line is
 * incomplete and dropped, as a browser drops it.
 */
export async function* sseMessages(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder()
  let buffer = ''
  let message: SseMessage = {}
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true })
    let end: number
    while ((end = buffer.search(/\r?\n|\r/)) >= 0) {
      // A CR at the end of what came so far may be the first half of a CRLF.
      if (end === buffer.length - 1 && buffer[end] === '\r') break
      const line = buffer.slice(0, end)
      buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1))
      if (line === '') {
        if (Object.keys(message).length > 0) yield message
        message = {}
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'event') message.event = value
      else if (field === 'data') message.data = message.data === undefined ? value : `${message.data}\n${value}`
      else if (field === 'id') message.id = value
      else if (field === 'retry' && /^\d+$/.test(value)) message.retry = Number(value)
    }
  }
}
