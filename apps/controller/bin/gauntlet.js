#!/usr/bin/env node
import { main } from '../dist/cli/main.js'

// Last resort: exit code 1 must only ever mean "a threshold failed", so anything unexpected is 3.
const crash = (error) => {
  process.stderr.write(
    `gauntlet: internal error${process.argv.includes('--verbose') ? `\n${error?.stack ?? error}` : ''}\n`,
  )
  process.exit(3)
}
process.on('uncaughtException', crash)
process.on('unhandledRejection', crash)

process.exitCode = await main(process.argv.slice(2))
