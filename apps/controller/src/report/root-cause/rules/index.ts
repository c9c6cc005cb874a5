import { faultSuspects } from './fault-suspects.js'
import { generatorSuspect } from './generator.js'
import type { Rule } from './rule.js'
import { targetMetricSuspects } from './target-metric.js'

/** Every suspect rule; a new rule is one file and one line here. */
export const rules: readonly Rule[] = [faultSuspects, generatorSuspect, targetMetricSuspects]
