import { clientLimitOf, clientLimitText, clientWasTheLimit } from '../../../decision/client-limit.js'
import { pct, type Candidate, type RuleContext } from './rule.js'

/**
 * The load generator itself, when it could not send on schedule during the incident (by the same rule
 * that makes a step generator-limited: a dropped send, or more than a tenth of the seconds late). Its
 * seconds say nothing about the target: the client's queueing is never the target's fault. It explains
 * what the requests showed (a degraded second, a guard judged on them), never a target series' growth:
 * a leak guard's trip with no degraded second is not the client's doing.
 */
export function generatorSuspect({ incident, degradedAtS }: RuleContext): Candidate[] {
  if (degradedAtS === undefined && incident.trip?.source === 'leak') return []
  const seconds = incident.during
  const limit = clientLimitOf(seconds)
  if (seconds.length === 0 || !clientWasTheLimit(limit)) return []
  const share = limit.limitedS / limit.judgedS
  const late = seconds.reduce((n, w) => n + w.lateSends, 0)
  const dropped = seconds.reduce((n, w) => n + w.dropped, 0)
  const lag = Math.max(...seconds.map((w) => w.maxSendLagMs))
  const connections = Math.max(...seconds.map((w) => w.openConnections))
  return [
    {
      kind: 'generator',
      subject: 'load generator',
      reason:
        'the load generator could not send on schedule: in those seconds the client, not the target, was the limit',
      evidence: [
        clientLimitText(limit),
        `${late} late sends, ${dropped} dropped sends, send lag up to ${Math.round(lag)}ms, up to ${connections} open connections`,
      ],
      score: share,
      rankedBy: `generator-limited in ${pct(share)} of the incident's seconds`,
    },
  ]
}
