/** Types of nginx.mjs, for the TypeScript tests that start nginx. */
export const nginxBinary: string | undefined

export interface RunningNginx {
  url: string
  /** The master process; its one worker is its child. */
  pid: number
  /** Arrival times in ms since the first arrival of /index.html (stops nginx first). */
  arrivals(): Promise<number[]>
  stop(): Promise<void>
}

export function startNginx(options?: {
  limitReq?: { rate: number; burst: number }
  logArrivals?: boolean
  sendfile?: boolean
}): Promise<RunningNginx>
