import type { Suspect } from '@gauntlet/contracts'
import type { Candidate } from './rules/rule.js'

/** On equal scores: a fault before the generator before a target series (cause before symptom). */
const kindOrder: Record<Suspect['kind'], number> = { fault: 0, generator: 1, 'target-metric': 2 }

/**
 * Orders the candidates by score (see Candidate), then kind, then name; the first one's `rankedBy` also
 * says what it was ranked ahead of, so the reader sees why it came first.
 */
export function rankSuspects(candidates: readonly Candidate[]): Suspect[] {
  const sorted = [...candidates].sort(
    (a, b) => b.score - a.score || kindOrder[a.kind] - kindOrder[b.kind] || a.subject.localeCompare(b.subject),
  )
  return sorted.map((c, i) => {
    const next = sorted[i + 1]
    const ahead = i === 0 && next ? `; ahead of ${next.subject} (${next.rankedBy})` : ''
    const { kind, subject, reason, evidence } = c
    return { rank: i + 1, kind, subject, reason, evidence, rankedBy: `${c.rankedBy}${ahead}` }
  })
}
