import http from 'node:http'
import { performance } from 'node:perf_hooks'

/**
 * The reference the issue measures Gauntlet against: a plain open-model client. Each request is sent at
 * its scheduled time on a free connection (an agent with unlimited sockets opens one when none is
 * free) and timed from that scheduled time. Deliberately independent of Gauntlet's code.
 */
export async function openModelLatenciesMs(url: string, rps: number, durationS: number): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })
  const total = Math.round(rps * durationS)
  const latencies: number[] = []
  const start = performance.now() + 20
  let next = 0
  await new Promise<void>((resolve) => {
    let settled = 0
    const tick = (): void => {
      const now = performance.now()
      while (next < total && start + (next * 1000) / rps <= now) {
        const scheduled = start + (next * 1000) / rps
        next++
        http
          .get(url, { agent }, (res) => {
            res.resume()
            res.on('end', () => {
              latencies.push(performance.now() - scheduled)
              if (++settled === total) resolve()
            })
          })
          .on('error', () => {
            if (++settled === total) resolve()
          })
      }
      if (next < total) setTimeout(tick, Math.max(0, start + (next * 1000) / rps - performance.now()))
    }
    setTimeout(tick, 20)
  })
  agent.destroy()
  return latencies
}

/** Nearest-rank percentile of raw samples. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!
}
