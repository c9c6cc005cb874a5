#!/usr/bin/env node
// The floor for bench/cost.mjs's fixed-rate row: the least an evenly paced, open-model generator in Node
// must do, in one file. Every send has an intended time (rate evenly spread, checked on a 1 ms timer and
// whenever a response frees a connection), its latency is measured from that time, each response is
// parsed with autocannon's own parser (http-parser-js) and recorded in Gauntlet's HDR histogram. No
// timeouts, errors, windows or checks: what is left is the cost of pacing evenly plus parsing and
// recording, against which Gauntlet's own bookkeeping and autocannon's bursts can be read.
//
//   node bench/even-pacer.mjs <url> <rps> <seconds> <connections>   prints {"ok":N,"p99Us":N}
//   node bench/even-pacer.mjs <url> 1 1 1                            a 1-request run (start-up)
import { createRequire } from 'node:module'
import { connect } from 'node:net'
import { createLatencyHistogram, recordLatencyUs } from '@gauntlet/metrics'

const [url, rpsArg, secondsArg, connectionsArg] = process.argv.slice(2)
const target = new URL(url)
const rps = Number(rpsArg)
const seconds = Number(secondsArg)
const connections = Number(connectionsArg)
const { HTTPParser } = createRequire(createRequire(import.meta.url).resolve('autocannon/lib/httpClient.js'))(
  'http-parser-js',
)

const total = Math.round(rps * seconds)
const request = Buffer.from(`GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`)
const histogram = createLatencyHistogram()
const idle = []
let startAt = 0
let sent = 0
let settled = 0
let ok = 0
let timer

function openConnection() {
  const socket = connect(Number(target.port), target.hostname)
  socket.setNoDelay(true)
  const parser = new HTTPParser(HTTPParser.RESPONSE)
  let status = 0
  parser[HTTPParser.kOnHeadersComplete] = (info) => void (status = info.statusCode)
  parser[HTTPParser.kOnBody] = () => {}
  parser[HTTPParser.kOnMessageComplete] = () => {
    recordLatencyUs(histogram, (performance.now() - socket.intendedAt) * 1000)
    if (status >= 200 && status < 300) ok++
    settled++
    idle.push(socket)
    if (settled === total) finish()
    else dispatchDue()
  }
  socket.on('data', (chunk) => parser.execute(chunk))
  socket.on('error', (error) => {
    console.error(`even-pacer: ${error.message}`)
    process.exit(1)
  })
  return new Promise((resolve) => socket.once('connect', () => resolve(socket)))
}

/** Sends every request whose intended time has come, while a connection is free; else waits a tick. */
function dispatchDue() {
  const now = performance.now()
  while (sent < total && idle.length > 0) {
    const intendedAt = startAt + (sent * 1000) / rps
    if (intendedAt > now) break
    const socket = idle.pop()
    socket.intendedAt = intendedAt
    sent++
    socket.write(request)
  }
  if (sent < total && timer === undefined) timer = setTimeout(tick, 1)
}

function tick() {
  timer = undefined
  dispatchDue()
}

function finish() {
  clearTimeout(timer)
  console.log(JSON.stringify({ ok, p99Us: histogram.getValueAtPercentile(99) }))
  process.exit(0)
}

idle.push(...(await Promise.all(Array.from({ length: connections }, openConnection))))
startAt = performance.now()
dispatchDue()
