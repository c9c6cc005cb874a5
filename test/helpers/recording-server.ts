import { EventEmitter, once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: string
}

export interface RecordingServer {
  url: string
  /** Every request received so far (recorded once its body has arrived). */
  requests: RecordedRequest[]
  /** Resolves with the first request (received or still to come) whose path matches. */
  waitForRequest(path: RegExp): Promise<RecordedRequest>
  close(): Promise<void>
}

/**
 * An HTTP server on `host`:0 that records every request, then answers as `answer` says (an answer
 * that never ends the response is a receiver that hangs).
 */
export async function startRecordingServer(
  host: string,
  answer: (request: RecordedRequest, response: ServerResponse) => void,
): Promise<RecordingServer> {
  const requests: RecordedRequest[] = []
  const arrivals = new EventEmitter()
  const server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => (body += chunk))
    request.on('end', () => {
      const recorded = { method: request.method!, path: request.url!, headers: request.headers, body }
      requests.push(recorded)
      arrivals.emit('request', recorded)
      answer(recorded, response)
    })
  }).listen(0, host)
  await once(server, 'listening')
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    requests,
    waitForRequest: (path) => {
      const seen = requests.find((r) => path.test(r.path))
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve) => {
        const onRequest = (r: RecordedRequest): void => {
          if (!path.test(r.path)) return
          arrivals.off('request', onRequest)
          resolve(r)
        }
        arrivals.on('request', onRequest)
      })
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

/** Polls `read` until `done` holds, at most `timeoutMs`; returns the last value read. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value) || Date.now() >= until) return value
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
