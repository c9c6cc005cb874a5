import { createServer } from 'node:net'

/**
 * A port that was free a moment ago, for peers that cannot bind port 0 and report it (nginx), and for
 * "nothing listens here" tests. Our own servers always listen on port 0.
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}
