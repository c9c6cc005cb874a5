import { localFaultEngine, type FaultReport } from '@gauntlet/agent'
import { GauntletError } from '@gauntlet/contracts'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { parse } from 'yaml'
import { adhocFault } from '../faults/adhoc-fault.js'
import { withUsage } from './args.js'
import { ControllerClient } from './controller-client.js'
import type { Output } from './output.js'

const usage = `gauntlet fault apply <fault.yaml> [--controller <url>]
       gauntlet fault list [--controller <url>]
       gauntlet fault revert <id> | --all [--controller <url>]`

/**
 * Faults by hand. With --controller, on that controller's Docker host; without, on this host's Docker
 * engine: `apply` returns once the fault is in place and leaves it to its own expiry (iptables time
 * match, a detached dead man's switch), so it ends on time even though this command has exited.
 */
export async function faultCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = withUsage(usage, () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      options: { controller: { type: 'string' }, all: { type: 'boolean' }, 'state-dir': { type: 'string' } },
    }),
  )
  const [action, arg] = positionals
  const client = values.controller
    ? new ControllerClient(values.controller, process.env.GAUNTLET_TOKEN || undefined)
    : undefined
  // The journal is per host (GAUNTLET_FAULT_JOURNAL, or --state-dir for a separate one).
  const engine = client
    ? undefined
    : localFaultEngine(values['state-dir'] ? join(values['state-dir'], 'faults.jsonl') : undefined, (line) =>
        out.stderr(line),
      )
  // Locally, whatever a dead process left behind is reverted before anything else.
  await engine?.recover()
  switch (action) {
    case 'apply': {
      if (!arg) throw new GauntletError('usage', `fault apply needs a fault file\nusage: ${usage}`)
      const doc: unknown = parse(
        await readFile(arg, 'utf8').catch(() => Promise.reject(new GauntletError('usage', `cannot read ${arg}`))),
      )
      const report = client
        ? await client.faults('POST', '', doc)
        : await engine!.apply(adhocFault(doc), undefined, { detached: true })
      out.stdout(describe(report as FaultReport))
      return 0
    }
    case 'list': {
      const reports = (client ? await client.faults('GET', '') : engine!.list()) as FaultReport[]
      if (reports.length === 0) out.stdout('no active faults')
      for (const report of reports) out.stdout(describe(report))
      return 0
    }
    case 'revert': {
      if (!arg && !values.all) throw new GauntletError('usage', `fault revert needs an id or --all\nusage: ${usage}`)
      const ids = arg
        ? [arg]
        : ((client ? await client.faults('GET', '') : engine!.list()) as FaultReport[]).map((r) => r.id)
      for (const id of ids) {
        const report = (
          client
            ? await client.faults('DELETE', `/${encodeURIComponent(id)}`)
            : await engine!.revert(id, 'reverted by hand')
        ) as FaultReport
        out.stdout(describe(report))
      }
      if (ids.length === 0) out.stdout('no active faults')
      return 0
    }
    default:
      throw new GauntletError('usage', `unknown fault action "${action ?? ''}"\nusage: ${usage}`)
  }
}

function describe(report: FaultReport): string {
  const state = report.revertedAt
    ? `reverted ${report.revertedAt}${report.revertVerified ? ', read back clean' : ', NOT clean'}`
    : `until ${report.untilAt}`
  return `${report.id}  ${report.type} via ${report.mechanism} on ${report.targets.join(', ')}  ${state}`
}
