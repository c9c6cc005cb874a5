// A target that remembers when each request arrived (ms since its first arrival), so a test can check
// how evenly a client paced its sends as seen from the server side. Run in its own process.
// /__epoch-arrivals gives the same arrivals as epoch ms (sub-millisecond), to line them up with a
// client's own clock. /__paths gives each arrival's request target, in arrival order.
import http from 'node:http'
import { performance } from 'node:perf_hooks'

const arrivals = []
const paths = []
let first
const server = http.createServer((req, res) => {
  if (req.url === '/__arrivals') {
    res.setHeader('content-type', 'application/json')
    return res.end(JSON.stringify(arrivals))
  }
  if (req.url === '/__paths') {
    res.setHeader('content-type', 'application/json')
    return res.end(JSON.stringify(paths))
  }
  if (req.url === '/__epoch-arrivals') {
    res.setHeader('content-type', 'application/json')
    return res.end(JSON.stringify(arrivals.map((t) => performance.timeOrigin + first + t)))
  }
  const now = performance.now()
  first ??= now
  arrivals.push(now - first)
  paths.push(req.url)
  req.resume()
  res.end('ok')
})
server.listen(0, '127.0.0.1', 1024, () => console.log(`listening http://127.0.0.1:${server.address().port}`))
