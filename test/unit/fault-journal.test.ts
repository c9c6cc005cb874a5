import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FaultJournal } from '../../packages/faults/src/fault-journal.js'
import { tempDir } from '../helpers/cli.js'

describe('fault journal lock', () => {
  it('serializes holders: the second runs only after the first has finished', async () => {
    const journal = new FaultJournal(join(tempDir(), 'faults.jsonl'))
    const order: string[] = []
    let releaseFirst!: () => void
    const first = journal.withLock(async () => {
      order.push('first in')
      await new Promise<void>((resolve) => (releaseFirst = resolve))
      order.push('first out')
    })
    const second = journal.withLock(() => {
      order.push('second in')
      return Promise.resolve()
    })
    // Let the second try (and wait) while the first holds the lock.
    await new Promise((resolve) => setImmediate(resolve))
    expect(order).toEqual(['first in'])
    releaseFirst()
    await Promise.all([first, second])
    expect(order).toEqual(['first in', 'first out', 'second in'])
  })

  it('takes over a lock left by a dead process, and removes its own when done (even on error)', async () => {
    const file = join(tempDir(), 'faults.jsonl')
    const journal = new FaultJournal(file)
    writeFileSync(`${file}.lock`, '2147483646') // no such pid
    await expect(journal.withLock(() => Promise.resolve('ran'))).resolves.toBe('ran')
    expect(existsSync(`${file}.lock`)).toBe(false)
    await expect(journal.withLock(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    expect(existsSync(`${file}.lock`)).toBe(false)
  })

  it('gives up after its wait when another live process holds the lock', async () => {
    const file = join(tempDir(), 'faults.jsonl')
    writeFileSync(`${file}.lock`, `${process.ppid} some-token`) // held by a live process (our parent)
    await expect(new FaultJournal(file).withLock(() => Promise.resolve('never'), 200)).rejects.toThrow(/stayed locked/)
  })

  it("takes over a lock with this process's pid but not a token it holds (a killed container's agent had the same pid)", async () => {
    const file = join(tempDir(), 'faults.jsonl')
    writeFileSync(`${file}.lock`, `${process.pid} token-of-a-dead-container`)
    await expect(new FaultJournal(file).withLock(() => Promise.resolve('ran'), 200)).resolves.toBe('ran')
    writeFileSync(`${file}.lock`, String(process.pid)) // the old format: a pid only
    await expect(new FaultJournal(file).withLock(() => Promise.resolve('ran'), 200)).resolves.toBe('ran')
  })

  it('two journals on one file in one process take turns instead of waiting for each other', async () => {
    const file = join(tempDir(), 'faults.jsonl')
    const order: string[] = []
    let release!: () => void
    const first = new FaultJournal(file).withLock(async () => {
      order.push('first in')
      await new Promise<void>((resolve) => (release = resolve))
      order.push('first out')
    })
    // A short wait: were the second to contend on the file, it would time out while the first holds it.
    const second = new FaultJournal(file).withLock(() => Promise.resolve(order.push('second in')), 100)
    await new Promise((resolve) => setImmediate(resolve))
    expect(order).toEqual(['first in'])
    setTimeout(release, 300)
    await Promise.all([first, second])
    expect(order).toEqual(['first in', 'first out', 'second in'])
  })
})
