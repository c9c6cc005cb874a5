import { expect } from 'vitest'
import { qdiscHandle, ruleMark, type Command, type FaultPlan } from '../../packages/faults/src/fault-plan.js'

/** Properties every fault plan must have, whatever its type: shared by the plan and registry tests. */

const tableOf = (cmd: Command): string => (cmd[2] === '-t' ? cmd[3]! : 'filter')
/** The argv after `iptables -w [-t table]`. */
export const iptablesArgs = (cmd: Command): string[] => (cmd[2] === '-t' ? cmd.slice(4) : cmd.slice(2))

/** Everything `apply` creates, `revert` removes: the same rules, our chains after their jumps, our root qdisc. */
export function expectRevertUndoesApply(plan: FaultPlan, iface: string): void {
  const revert = plan.revert.map((c) => c.join(' '))
  for (const cmd of plan.apply) {
    if (cmd[0] !== 'iptables') continue
    const table = tableOf(cmd)
    const [op, chain, ...rest] = iptablesArgs(cmd)
    if (op === '-N') {
      // Our chain is flushed, then deleted, after the jump into it is gone.
      const flush = revert.indexOf(`iptables -w -F ${chain}`)
      const del = revert.indexOf(`iptables -w -X ${chain}`)
      expect(flush).toBeGreaterThanOrEqual(0)
      expect(del).toBeGreaterThan(flush)
      const jumpIndex = revert.findIndex((r) => r.startsWith('iptables -w -D') && r.endsWith(`-j ${chain}`))
      expect(jumpIndex).toBeGreaterThanOrEqual(0)
      expect(jumpIndex).toBeLessThan(flush)
    } else if (op === '-I') {
      // The same rule spec, deleted (`-I CHAIN 1 spec` -> `-D CHAIN spec`).
      expect(rest[0]).toBe('1')
      const tablePart = table === 'filter' ? '' : `-t ${table} `
      expect(revert).toContain(`iptables -w ${tablePart}-D ${[chain, ...rest.slice(1)].join(' ')}`)
    } else {
      // Rules appended inside our own chain go with its flush.
      expect(op).toBe('-A')
      expect(revert).toContain(`iptables -w -F ${chain}`)
    }
  }
  if (plan.marks.qdisc) {
    // One delete, of our root handle only: the children go with it, and nothing else is touched.
    expect(plan.revert).toEqual([['tc', 'qdisc', 'del', 'dev', iface, 'root', 'handle', qdiscHandle]])
  }
  for (const cmd of plan.revert) {
    if (cmd[0] === 'tc') expect(cmd.join(' ')).toMatch(/^tc qdisc del dev \S+ root handle 7a47:$/)
    else expect(iptablesArgs(cmd)[0]).toMatch(/^-(D|F|X)$/)
  }
}

/** The marks a read-back looks for are exactly what `apply` leaves: our root qdisc, rules commented with the id. */
export function expectMarksMatchApply(plan: FaultPlan, id: string): void {
  const ourRoot = plan.apply.some(
    (c) => c[0] === 'tc' && c[1] === 'qdisc' && c.join(' ').includes(`root handle ${qdiscHandle}`),
  )
  const markedRule = plan.apply.some((c) => c[0] === 'iptables' && c.join(' ').includes(`--comment ${ruleMark(id)}`))
  expect(plan.marks).toEqual({ qdisc: ourRoot, rules: markedRule })
  expect(plan.apply.every((c) => c[0] === 'tc' || c[0] === 'iptables')).toBe(true)
}
