// Rules, the analyser's first pass: record levels and metric limits, configurable per fleet and device.
import type { Anomaly, DeviceRecord, Level } from './types.js'

export interface MetricRule {
  kind: string
  metric: string
  above?: number | undefined
  below?: number | undefined
}

export interface RulesConfig {
  /** Levels that make a record an `error` anomaly. */
  errorLevels: Level[]
  metrics: MetricRule[]
}

export const DEFAULT_RULES: RulesConfig = {
  errorLevels: ['error', 'fatal'],
  metrics: [
    { kind: 'high_temp', metric: 'temp', above: 80 },
    { kind: 'slow_response', metric: 'latencyMs', above: 1000 },
  ],
}

/** The anomalies the rules find in one record (score 1: a rule is certain). */
export function applyRules(record: DeviceRecord, rules: RulesConfig): Anomaly[] {
  const found: Anomaly[] = []
  if (record.level && rules.errorLevels.includes(record.level)) {
    found.push({
      deviceId: record.deviceId,
      ts: record.ts,
      kind: 'error',
      metric: undefined,
      value: null,
      score: 1,
      detail: `level ${record.level}${record.msg ? ': ' + record.msg.slice(0, 200) : ''}`,
    })
  }
  for (const rule of rules.metrics) {
    const entry = record.metrics.find(([name]) => name === rule.metric)
    if (!entry) continue
    const value = entry[1]
    const over = rule.above !== undefined && value > rule.above
    const under = rule.below !== undefined && value < rule.below
    if (!over && !under) continue
    found.push({
      deviceId: record.deviceId,
      ts: record.ts,
      kind: rule.kind,
      metric: rule.metric,
      value,
      score: 1,
      detail: over ? `${rule.metric} ${value} > ${rule.above}` : `${rule.metric} ${value} < ${rule.below}`,
    })
  }
  return found
}
