// A server with a fixed service time and nothing else (no knobs, no counters): the reference target
// for latency-fidelity tests. Usage: node fixed-latency-server.mjs <ms>. Runs in its own process.
import http from 'node:http'

const serviceMs = Number(process.argv[2] ?? 20)
const server = http.createServer((req, res) => {
  req.resume()
  setTimeout(() => res.end('ok'), serviceMs)
})
server.listen(0, '127.0.0.1', 2048, () => console.log(`listening http://127.0.0.1:${server.address().port}`))
