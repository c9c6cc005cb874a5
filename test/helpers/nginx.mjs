// nginx from Debian as a real peer target, for tests and the bench: one worker serving a static file,
// optionally behind limit_req (a token bucket that punishes bursts). Plain JS so bench/ can use it too.
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { freePort } from './free-port.mjs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

/** The nginx binary, or undefined when it is not installed. */
export const nginxBinary = (() => {
  try {
    return (
      execFileSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], { encoding: 'utf8' })
        .trim()
        .split('\n')[0] || undefined
    )
  } catch {
    return undefined
  }
})()

/**
 * Starts nginx serving `ok\n` at /index.html. `limitReq: { rate, burst }` puts limit_req in front
 * (rejections answer 503). `logArrivals` logs each request's arrival ($msec) so `arrivals()` can tell
 * how evenly a client paced its sends, as a C server that is not the bottleneck sees them. `sendfile`
 * serves the file with sendfile(2) (the cheapest way nginx has). `pid` is the master's; its one worker
 * is the master's child.
 * Resolves once nginx answers.
 */
export async function startNginx({ limitReq, logArrivals = false, sendfile = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gauntlet-nginx-'))
  chmodSync(dir, 0o755) // nginx workers run unprivileged and must read the file (else every answer is 403)
  mkdirSync(join(dir, 'www'))
  writeFileSync(join(dir, 'www', 'index.html'), 'ok\n')
  const port = await freePort()
  const zone = limitReq ? `limit_req_zone $binary_remote_addr zone=gate:1m rate=${limitReq.rate}r/s;` : ''
  const limit = limitReq ? `limit_req zone=gate burst=${limitReq.burst}; limit_req_status 503;` : ''
  const accessLog = logArrivals
    ? `log_format arrival '$msec'; access_log ${dir}/arrivals.log arrival buffer=1m flush=1s;`
    : 'access_log off;'
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  ${accessLog}
  keepalive_requests 1000000;
  sendfile ${sendfile ? 'on' : 'off'};
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  ${zone}
  server {
    listen 127.0.0.1:${port};
    location = /ready { access_log off; return 200; }
    location / { ${limit} root ${dir}/www; }
  }
}
`,
  )
  const child = spawn(nginxBinary, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}/index.html`
  // nginx cannot report a port-0 bind, so poll until it answers (bounded), instead of sleeping blind.
  // The readiness probe goes to another path so it never counts as an arrival.
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
    url,
    pid: child.pid,
    /** Arrival times in ms since the first arrival of /index.html (stops nginx first, to flush its log). */
    async arrivals() {
      await this.stop()
      return readFileSync(join(dir, 'arrivals.log'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(Number)
        .map((t, _i, all) => (t - all[0]) * 1000)
    },
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGQUIT') // graceful: flushes the buffered arrival log
      await once(child, 'exit')
    },
  }
}
