// nginx as the target of the request-mix rows of bench/run.mjs: one worker, every path and method
// answered `200 ok\n` by `return` (a static file would answer POST with 405), optionally logging each
// arrival's time and path so the bench can check pacing and the mix's split as the target sees them.
// The fixed request's comparison row runs against this same nginx, so the two differ only in what is sent.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { nginxBinary } from '../test/helpers/nginx.mjs'
import { freePort } from '../test/helpers/free-port.mjs'

/** Starts the catch-all nginx; resolves once it answers. */
export async function startMixTarget({ logArrivals = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gauntlet-nginx-mix-'))
  chmodSync(dir, 0o755)
  const port = await freePort()
  const accessLog = logArrivals
    ? `log_format arrival '$msec $uri'; access_log ${dir}/arrivals.log arrival buffer=1m flush=1s;`
    : 'access_log off;'
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  ${accessLog}
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:${port};
    location = /ready { access_log off; return 200; }
    location / { return 200 "ok\\n"; }
  }
}
`,
  )
  const child = spawn(nginxBinary, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
  for (
    let i = 0;
    i < 100 &&
    !(await fetch(`http://127.0.0.1:${port}/ready`).then(
      () => true,
      () => false,
    ));
    i++
  )
    await delay(50)
  return {
    url: `http://127.0.0.1:${port}/index.html`,
    /** Each arrival: ms since the first arrival, and its path (stops nginx first, to flush its log). */
    async arrivals() {
      await this.stop()
      const lines = readFileSync(join(dir, 'arrivals.log'), 'utf8').split('\n').filter(Boolean)
      const first = Number(lines[0]?.split(' ')[0])
      return lines.map((line) => {
        const [msec, path] = line.split(' ')
        return { t: (Number(msec) - first) * 1000, path }
      })
    },
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGQUIT') // graceful: flushes the buffered arrival log
      await once(child, 'exit')
    },
  }
}
