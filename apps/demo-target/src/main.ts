/**
 * CLI entry: parse flags, listen, and announce the address as the only stdout line so a parent
 * process can wait for it and read the port (useful with --port 0).
 */
import type { AddressInfo } from 'node:net'
import { parseKnobs } from './knobs.js'
import { createDemoTarget } from './server.js'

const fail = (message: string, code: number): void => {
  process.stderr.write(`demo-target: ${message}\n`)
  process.exitCode = code
}

function main(): void {
  let knobs
  try {
    knobs = parseKnobs(process.argv.slice(2), process.env)
  } catch (err) {
    // Nothing is listening yet, so returning lets the process end with the usage exit code.
    return fail(err instanceof Error ? err.message : String(err), 2)
  }
  const { host } = knobs
  const { server } = createDemoTarget(knobs)

  server.once('error', (err) => {
    fail(err.message, 1)
    process.exit()
  })
  server.listen(knobs.port, host, () => {
    const { port } = server.address() as AddressInfo
    const urlHost = host.includes(':') ? `[${host}]` : host
    process.stdout.write(`listening http://${urlHost}:${port}\n`)
  })

  let stopping = false
  const stop = (): void => {
    // A second signal means "now": skip waiting for sockets.
    if (stopping) process.exit(0)
    stopping = true
    server.close(() => process.exit(0))
    // Keep-alive and queued requests would otherwise hold close() open indefinitely.
    server.closeAllConnections()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

main()
