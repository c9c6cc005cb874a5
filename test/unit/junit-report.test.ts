import type { RunReport } from '@gauntlet/contracts'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'test-results-parser'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderJunitReport } from '../../apps/controller/src/report/junit-report.js'
import { scriptedRun, type ScriptedRun } from '../fixtures/junit/scripted-runs.js'

const schema = join(import.meta.dirname, '../fixtures/junit/JUnit.xsd')
const hasXmllint = spawnSync('xmllint', ['--version']).status === 0
const dir = mkdtempSync(join(tmpdir(), 'gauntlet-junit-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** xmllint's schema validation: exit status 0 only for a well-formed document valid against the XSD. */
function validate(xml: string, name: string): { ok: boolean; output: string } {
  const file = join(dir, name)
  writeFileSync(file, xml)
  const result = spawnSync('xmllint', ['--noout', '--schema', schema, file], { encoding: 'utf8' })
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` }
}

/** What a real JUnit consumer reads back from the file. */
function readBack(xml: string, name: string): ReturnType<typeof parse> {
  const file = join(dir, name)
  writeFileSync(file, xml)
  return parse({ type: 'junit', files: [file] })
}

const caseNamed = (result: ReturnType<typeof parse>, name: string) => {
  const found = result.suites[0]!.cases.find((c) => c.name === name)
  expect(found, `testcase "${name}"`).toBeDefined()
  return found!
}

describe('the XML schema validator', () => {
  it('is installed in CI (libxml2-utils), so validity is never skipped there', () => {
    if (process.env.CI) expect(hasXmllint, 'xmllint (Debian libxml2-utils) must be installed in CI').toBe(true)
  })
})

// Two steps (200 then 400 rps); step 2 answers 15% 500s: its error_rate threshold fails and the abort
// guard `errors` trips and rolls the run back. `shadow` is a dry-run guard that would have tripped.
const failingYaml = `name: checkout
target: { url: "http://127.0.0.1:9/" }
load: { steps: [ { rps: 200, duration: 2s }, { rps: 400, duration: 2s } ] }
thresholds: [ "p90 < 800ms", "error_rate < 5%" ]
decision:
  guards:
    - { name: errors, kind: abort, require: "error_rate < 5%", minSamples: 200 }
    - { name: fast, kind: abort, require: "p90 < 900ms", minSamples: 200 }
    - { name: shadow, kind: abort, require: "p50 < 4ms", minSamples: 200, dryRun: true }
`

describe('the JUnit report of a failing run with guards', () => {
  let run: ScriptedRun
  let xml: string
  beforeAll(async () => {
    // Paced: the step gates run on the run's clock, so the guards' gate records are real.
    run = await scriptedRun(failingYaml, (_i, step) => (step === 1 ? { ok: 340, errors: 60 } : { ok: 200 }), {
      paced: true,
    })
    xml = renderJunitReport(run.report, { strict: false })
  }, 20_000)

  it.skipIf(!hasXmllint)('is valid against the Apache Ant JUnit schema', () => {
    const result = validate(xml, 'failing.xml')
    expect(result.output).toContain('validates')
    expect(result.ok).toBe(true)
  })

  it('reads back in a JUnit consumer with the counts it declares', () => {
    const result = readBack(xml, 'failing.xml')
    const suite = result.suites[0]!
    const attr = (name: string): number => Number(new RegExp(`<testsuite [^>]*\\b${name}="(\\d+)"`).exec(xml)![1])
    expect(result.suites).toHaveLength(1)
    expect(suite.name).toBe('checkout')
    expect(suite.cases).toHaveLength(attr('tests'))
    const status = (s: string): number => suite.cases.filter((c) => c.status === s).length
    // The parser counts a testcase with <error> as FAIL; its suite keeps errors apart.
    expect(status('FAIL')).toBe(attr('failures') + attr('errors'))
    expect(status('SKIP')).toBe(attr('skipped'))
    expect(result.failed).toBe(attr('failures'))
    expect(result.errors).toBe(attr('errors'))
    expect(result.skipped).toBe(attr('skipped'))
    expect(result.passed).toBe(status('PASS'))
    expect(result.total).toBe(attr('tests') - attr('skipped'))
    expect(suite.metadata).toMatchObject({ 'run.id': run.report.run.id, 'run.verdict': 'fail', 'run.capacityRps': 200 })
  })

  it('fails the broken threshold with its evidence line, and the guard that tripped with its decision', () => {
    const result = readBack(xml, 'failing.xml')
    const threshold = caseNamed(result, 'step 2 (400 rps): error_rate < 5%')
    expect(threshold.status).toBe('FAIL')
    expect(threshold.failure).toMatch(/^step 2 \(400 rps\): error_rate 15% does not meet "error_rate < 5%"/)
    const n = run.report.steps[1]!.completed
    expect(threshold.failure).toMatch(new RegExp(`; 95% [\\d.]+% to [\\d.]+%, n=${n}, confidence fail$`))
    const guard = caseNamed(result, 'step 2 (400 rps): guard errors (error_rate < 5%)')
    expect(guard.status).toBe('FAIL')
    expect(guard.failure).toMatch(/ROLLBACK: errors "error_rate < 5%" FAIL at 15% \(95% .* n=400, fail;/)
    expect(caseNamed(result, 'step 1 (200 rps): error_rate < 5%').status).toBe('PASS')
    // Step 1's gate advanced: each acting guard was judged there and passed.
    expect(caseNamed(result, 'step 1 (200 rps): guard errors (error_rate < 5%)').status).toBe('PASS')
    expect(caseNamed(result, 'step 1 (200 rps): guard fast (p90 < 900ms)').status).toBe('PASS')
    // A dry-run guard's trip gates nothing: skipped, saying what it would have done.
    const shadow = caseNamed(result, 'step 1 (200 rps): guard shadow (p50 < 4ms)')
    expect(shadow.status).toBe('SKIP')
    expect(xml).toMatch(
      /<skipped message="step 1 DRY-RUN: shadow &quot;p50 &lt; 4ms&quot; FAIL at 5ms [^"]*would have rolled back/,
    )
    // Step 2 was cut short by the rollback: what it measured proves nothing either way, an error.
    const step2 = caseNamed(result, 'step 2 (400 rps): load carried as planned')
    expect(step2.status).toBe('FAIL')
    expect(xml).toMatch(/<error message="the step was cut short: the run rolled back \([^"]*errors/)
  })

  it('lists the run, then each step with its thresholds and guards, in order', () => {
    const names = readBack(xml, 'failing.xml').suites[0]!.cases.map((c) => c.name)
    expect(names[0]).toBe('the run reached a verdict')
    expect(names[1]).toBe('step 1 (200 rps): load carried as planned')
    const firstOfStep2 = names.findIndex((n) => n.startsWith('step 2 '))
    expect(names.slice(1, firstOfStep2).every((n) => n.startsWith('step 1 '))).toBe(true)
    expect(names.slice(firstOfStep2).every((n) => n.startsWith('step 2 '))).toBe(true)
  })

  it('a leak guard is judged once after the load; a guard no span judged at a step is skipped, not failed', () => {
    const gate = run.report.decisions.find((d) => d.source === 'gate' && d.guard === 'fast')!
    const report: RunReport = {
      ...run.report,
      decisions: [
        ...run.report.decisions,
        // What a gate records for a guard with no span in its step (a prefault guard in a step without a fault).
        {
          ...gate,
          guard: 'prefault-drop',
          condition: 'success_rate drop < 2pp',
          verdict: 'insufficient',
          evidence: {
            n: 0,
            estimate: null,
            lower: null,
            upper: null,
            limit: 0.02,
            confidence: 'insufficient',
            windowStart: 0,
            windowEnd: 0,
          },
        },
        {
          ...gate,
          source: 'leak',
          step: 1,
          guard: 'memory',
          condition: 'process_resident_memory_bytes growth < 20%',
          verdict: 'fail',
          action: 'rollback',
          reason: 'process_resident_memory_bytes grew 64% and did not come back',
          evidence: {
            n: 30,
            estimate: 0.64,
            lower: 0.64,
            upper: 0.64,
            limit: 0.2,
            confidence: 'fail',
            windowStart: 0,
            windowEnd: 30,
          },
        },
      ],
    }
    const xml = renderJunitReport(report, { strict: true })
    if (hasXmllint) expect(validate(xml, 'leak.xml').ok).toBe(true)
    const result = readBack(xml, 'leak.xml')
    const names = result.suites[0]!.cases.map((c) => c.name)
    const leak = 'after the load: guard memory (process_resident_memory_bytes growth < 20%)'
    expect(names.at(-1)).toBe(leak)
    expect(caseNamed(result, leak).status).toBe('FAIL')
    expect(caseNamed(result, leak).failure).toContain('memory "process_resident_memory_bytes growth < 20%" FAIL')
    const unjudged = caseNamed(result, 'step 1 (200 rps): guard prefault-drop (success_rate drop < 2pp)')
    expect(unjudged.status).toBe('SKIP')
    expect(xml).toContain('<skipped message="not judged in step 1 (200 rps): ')
  })
})

// 20 rps for 1 s: p99 of 20 samples cannot be bounded at 95%, so "p99 < 800ms" passes on its point
// estimate only (insufficient); the second step's generator could not keep up.
const thinYaml = `name: thin
target: { url: "http://127.0.0.1:9/" }
load: { steps: [ { rps: 20, duration: 1s }, { rps: 400, duration: 1s } ] }
thresholds: [ "p99 < 800ms" ]
`

describe('insufficient evidence and a generator-limited step', () => {
  let run: ScriptedRun
  beforeAll(async () => {
    run = await scriptedRun(thinYaml, (_i, step) => (step === 0 ? { ok: 20 } : { ok: 300, limited: true }))
  })

  it.each([
    [false, 'SKIP'],
    [true, 'FAIL'],
  ])('strict %s: an insufficient threshold is %s with its reason', (strict, status) => {
    const xml = renderJunitReport(run.report, { strict })
    if (hasXmllint) expect(validate(xml, `thin-${strict}.xml`).ok).toBe(true)
    const check = caseNamed(readBack(xml, `thin-${strict}.xml`), 'step 1 (20 rps): p99 < 800ms')
    expect(check.status).toBe(status)
    const reason = 'step 1: &quot;p99 &lt; 800ms&quot; passed on 20 samples, too few to be sure at 95%'
    expect(xml).toContain(strict ? `<failure message="${reason}` : `<skipped message="${reason}`)
    if (strict) expect(xml).toMatch(/<failure [^>]*type="insufficient"/)
  })

  it('a generator-limited step is an error saying the client was the limit; its passing threshold is not a pass', () => {
    const xml = renderJunitReport(run.report, { strict: false })
    expect(run.report.steps[1]!.verdict).toBe('generator-limited')
    const result = readBack(xml, 'limited.xml')
    expect(caseNamed(result, 'step 2 (400 rps): load carried as planned').status).toBe('FAIL')
    expect(xml).toMatch(
      /<error message="the load generator, not the target, was the limit: [^"]*" type="generator-limited">/,
    )
    expect(caseNamed(result, 'step 2 (400 rps): p99 < 800ms').status).toBe('SKIP')
    // The run stopped there without a verdict (the engine's ERROR): the run's own testcase says why.
    expect(run.report.run.verdict).toBe('error')
    expect(caseNamed(result, 'the run reached a verdict').status).toBe('FAIL')
    expect(result.errors).toBe(2)
  })
})

describe('escaping', () => {
  const hostile = 'a<b>&"quote"\'apos\' ]]> <!-- x --> \u0000\u0007\u001b[31m\ud800 \ufffe end'

  it('keeps every attribute and text well-formed and valid, dropping characters XML 1.0 cannot carry', async () => {
    const { report } = await scriptedRun(thinYaml, () => ({ ok: 20 }))
    const evil: RunReport = {
      ...report,
      run: { ...report.run, scenario: hostile, target: `http://x/?q=${hostile}` },
      reasons: [hostile, 'line\nbreak\r\ttab'],
      steps: report.steps.map((s) => ({
        ...s,
        thresholds: s.thresholds.map((t) => ({ ...t, threshold: hostile, pass: false })),
      })),
    }
    const xml = renderJunitReport(evil, { strict: false })
    // eslint-disable-next-line no-control-regex
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe]/)
    expect(xml).not.toContain(']]>')
    if (hasXmllint) {
      const result = validate(xml, 'hostile.xml')
      expect(result.output).toContain('validates')
    }
    const clean = 'a<b>&"quote"\'apos\' ]]> <!-- x --> [31m  end'
    const back = readBack(xml, 'hostile.xml')
    expect(back.suites[0]!.name).toBe(clean)
    expect((back.suites[0]!.metadata as Record<string, unknown>)['run.target']).toBe(`http://x/?q=${clean}`)
    const failed = back.suites[0]!.cases.find((c) => c.status === 'FAIL')!
    expect(failed.name).toBe(`step 1 (20 rps): ${clean}`)
    expect(failed.failure).toContain(`does not meet "${clean}"`)
  })
})

describe('the validator', () => {
  it.skipIf(!hasXmllint)('rejects documents that are not valid JUnit, so a pass above means something', async () => {
    const { report } = await scriptedRun(thinYaml, () => ({ ok: 20 }))
    const xml = renderJunitReport(report, { strict: false })
    expect(validate(xml, 'good.xml').ok).toBe(true)
    // Required attribute missing, unknown element, a failure without its type, unescaped markup.
    const broken = [
      xml.replace(/ hostname="[^"]*"/, ''),
      xml.replace('<system-err>', '<bogus/><system-err>'),
      xml.replace('<testcase ', '<testcase><failure message="x">x</failure></testcase><testcase '),
      xml.replace('name="thin"', 'name="a<b"'),
    ]
    for (const [i, doc] of broken.entries()) {
      expect(doc).not.toBe(xml)
      expect(validate(doc, `broken-${i}.xml`).ok, `broken document ${i}`).toBe(false)
    }
  })
})
