import {
  FaultDocumentSchema,
  FaultSpecSchema,
  faultTypes,
  GauntletError,
  type FaultDocument,
  type FaultType,
} from '@gauntlet/contracts'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { buildFault } from '../../packages/faults/src/fault-loader.js'
import { planFault } from '../../packages/faults/src/fault-plan.js'
import type { KernelSupport } from '../../packages/faults/src/kernel-probe.js'
import { preflight } from '../../packages/faults/src/preflight.js'
import { faultTypeUnit, faultTypeUnits } from '../../packages/faults/src/registry.js'
import { expectMarksMatchApply, expectRevertUndoesApply } from '../helpers/plan-checks.js'

/**
 * The extension point: every fault type is a unit in the registry, and these properties hold for every
 * unit, so a new type is checked here as soon as it is registered (and given examples below).
 */

const units = Object.values(faultTypeUnits)
const common = ['type', 'target', 'at', 'atStep', 'duration']
const literals = (union: unknown): string[] => (union as { anyOf: Array<{ const: string }> }).anyOf.map((l) => l.const)

/**
 * Documents of each type (type, target, duration added) that together reach every mechanism of its
 * unit and every parameter it takes. Typed by FaultType: a type without examples does not compile.
 */
const examples: Record<FaultType, Array<Partial<FaultDocument>>> = {
  delay: [
    { mode: 'netem', latency: '100ms', jitter: '10ms', correlation: 25, distribution: 'normal' },
    { mode: 'proxy', latency: '100ms', port: 8080, peer: '10.0.0.5' },
    { latency: '5ms', port: 8080 },
  ],
  loss: [
    { mode: 'netem', percent: 5, correlation: 10, peer: '10.0.0.0/24' },
    { percent: 5, port: 8080 },
  ],
  bandwidth: [
    { rate: '1mbit', burst: '32kbit', limit: '64kb' },
    { rate: '2mbps', port: 443, peer: '10.0.0.5' },
  ],
  partition: [{ direction: 'ingress', peers: ['10.0.0.5', '10.2.0.0/16'] }, { port: 5432 }, { peer: '10.0.0.9' }],
  reset: [{ port: 8080, peer: '10.0.0.5' }],
}

const everything: KernelSupport = {
  netem: true,
  tbf: true,
  htb: true,
  iptables: { statistic: true, reject: true, redirect: true, time: true, comment: true },
  errors: {},
}
const noNetem: KernelSupport = { ...everything, netem: false }
const nothing: KernelSupport = {
  netem: false,
  tbf: false,
  htb: false,
  iptables: { statistic: false, reject: false, redirect: false, time: false, comment: false },
  errors: {},
}

const cases = (Object.entries(examples) as Array<[FaultType, Array<Partial<FaultDocument>>]>).flatMap(([type, docs]) =>
  docs.map((params, i) => ({
    name: `${type} #${i + 1}`,
    type,
    doc: { type, target: { container: 'web' }, ...params, duration: '30s' },
  })),
)

function thrown(fn: () => unknown): GauntletError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(GauntletError)
    return error as GauntletError
  }
  throw new Error('expected a GauntletError')
}

/** The spec on each kernel (everything, no netem) that can carry it: at least one can. */
function decided(doc: FaultDocument, id?: string) {
  const specs = [everything, noNetem].flatMap((kernel) => {
    try {
      return [preflight(built(doc, id), kernel)]
    } catch (error) {
      if (error instanceof GauntletError && error.code === 'unsupported') return []
      throw error
    }
  })
  expect(specs.length).toBeGreaterThan(0)
  return specs
}

function built(doc: FaultDocument, id = 'f1') {
  const problems: string[] = []
  const fault = buildFault(doc, '/f', (path, message) => problems.push(`${path}: ${message}`), id)
  expect(problems).toEqual([])
  return fault!.spec
}

describe('the registry and the schema agree', () => {
  it('has one unit per fault type of contracts, under its own name', () => {
    expect(Object.keys(faultTypeUnits)).toEqual([...faultTypes])
    for (const [type, unit] of Object.entries(faultTypeUnits)) expect(unit.type).toBe(type)
  })

  it('has a unit for every type the document and spec schemas accept', () => {
    expect(literals(FaultDocumentSchema.properties.type).sort()).toEqual(Object.keys(faultTypeUnits).sort())
    expect(literals(FaultSpecSchema.properties.type).sort()).toEqual(Object.keys(faultTypeUnits).sort())
  })

  it("the units' parameters are exactly the document schema's properties besides those every fault has", () => {
    const taken = new Set(units.flatMap((u) => u.params))
    const inSchema = Object.keys(FaultDocumentSchema.properties).filter((k) => !common.includes(k))
    expect([...taken].sort()).toEqual(inSchema.sort())
    for (const unit of units) {
      expect(new Set(unit.params).size).toBe(unit.params.length)
      if (unit.required) expect(unit.params).toContain(unit.required)
    }
  })

  it("every unit's mechanisms are mechanisms the spec schema carries", () => {
    const mechanisms = literals(FaultSpecSchema.properties.mechanism)
    for (const unit of units) {
      expect(unit.mechanisms.length).toBeGreaterThan(0)
      for (const m of unit.mechanisms) expect(mechanisms).toContain(m)
    }
  })

  it('an unknown type is a clear error, not a lookup on Object.prototype', () => {
    const error = thrown(() => faultTypeUnit('constructor' as FaultType))
    expect(error.code).toBe('invalid_scenario')
    expect(error.message).toBe('unknown fault type "constructor"')
  })
})

describe('every unit, through its examples', () => {
  it('has examples that reach each of its mechanisms and each of its parameters', () => {
    expect(Object.keys(examples).sort()).toEqual(Object.keys(faultTypeUnits).sort())
    for (const unit of units) {
      const mine = cases.filter((c) => c.type === unit.type)
      const reached = new Set(mine.flatMap((c) => decided(c.doc).map((spec) => spec.mechanism)))
      expect([...reached].sort()).toEqual([...unit.mechanisms].sort())
      const given = new Set(mine.flatMap((c) => Object.keys(c.doc)))
      for (const param of unit.params) expect(given, `${unit.type} example with ${param}`).toContain(param)
    }
  })

  it.each(cases)('$name: builds a valid spec, and refuses any parameter of another type', ({ type, doc }) => {
    expect(Value.Errors(FaultDocumentSchema, doc).First()).toBeUndefined()
    expect(Value.Errors(FaultSpecSchema, built(doc)).First()).toBeUndefined()
    const unit = faultTypeUnit(type)
    for (const other of cases.filter((c) => c.type !== type)) {
      for (const [key, value] of Object.entries(other.doc)) {
        if (common.includes(key) || (unit.params as string[]).includes(key)) continue
        const problems: string[] = []
        buildFault({ ...doc, [key]: value }, '/f', (path, message) => problems.push(`${path}: ${message}`), 'f1')
        expect(problems).toContain(
          `/f/${key}: ${key} does not apply to a ${type} fault; it takes: ${unit.params.join(', ')}`,
        )
      }
    }
  })

  it.each(cases)('$name: a plan whose revert undoes its apply, with the marks a read-back must see', ({ doc }) => {
    for (const spec of decided(doc, 'fault-7')) {
      expect(Value.Errors(FaultSpecSchema, spec).First()).toBeUndefined()
      const plan = planFault(spec, { iface: 'eth1', untilEpochMs: Date.UTC(2030, 0, 1), proxyPort: 41000 })
      expect(plan.apply.length).toBeGreaterThan(0)
      expectRevertUndoesApply(plan, 'eth1')
      expectMarksMatchApply(plan, 'fault-7')
      // A drain (proxy delay) only adds rules that revert removes too.
      for (const cmd of plan.drain ?? []) {
        expect(cmd.join(' ')).toContain('-I')
        expect(plan.revert.map((c) => c.join(' '))).toContain(cmd.join(' ').replace(/-I (\S+) 1 /, '-D $1 '))
      }
    }
  })

  it.each(cases)('$name: says what it needs from the kernel (one that has nothing refuses it)', ({ doc }) => {
    expect(thrown(() => preflight(built(doc), nothing)).code).toBe('unsupported')
  })

  it.each(cases)('$name: preflight refuses a mechanism the type does not have', ({ type, doc }) => {
    const unit = faultTypeUnit(type)
    const others = literals(FaultSpecSchema.properties.mechanism).filter(
      (m) => m !== 'auto' && !(unit.mechanisms as string[]).includes(m),
    )
    for (const mechanism of others) {
      const spec = { ...built(doc), mechanism } as ReturnType<typeof built>
      expect(() => preflight(spec, everything)).toThrow(`a ${type} fault runs by ${unit.mechanisms.join(' or ')}`)
    }
  })
})
