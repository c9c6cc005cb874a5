import { createRequire } from 'node:module'
import type Docker from 'dockerode'

const require = createRequire(import.meta.url)

/**
 * A dockerode client, loaded on first use: dockerode brings gRPC, protobuf and ssh2 with it, and most runs
 * never touch Docker (a `gauntlet run` without faults paid ~0.2 s of CPU at start-up to load them).
 */
export function newDocker(options?: Docker.DockerOptions): Docker {
  const DockerClient = require('dockerode') as typeof Docker
  return new DockerClient(options)
}
