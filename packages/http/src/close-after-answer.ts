import type { Socket } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'

/** How long a refused connection may go on sending (discarded, never buffered) after its answer. */
const lingerMs = 2_000

/**
 * Closes the connection once the answer is out: our side at once (FIN after the answer), theirs after
 * at most lingerMs. Meanwhile node reads and discards what is still in flight: closing a socket with
 * unread data would reset it, and a client still writing would lose the answer it was sent.
 * The answer says `Connection: close`, so a keep-alive client does not reuse the socket; node's own
 * close for such an answer (destroySoon: end, then destroy at once) is replaced by the lingering one.
 */
export function closeAfterAnswer(request: FastifyRequest, reply: FastifyReply): void {
  const socket = request.raw.socket as (Socket & { destroySoon?: () => void }) | undefined
  if (typeof socket?.end !== 'function') return
  reply.header('connection', 'close')
  const lingeringClose = () => {
    socket.end()
    const timer = setTimeout(() => socket.destroy(), lingerMs)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
  }
  socket.destroySoon = lingeringClose
}
