// Rules, the analyser's first pass: record levels and metric limits, configurable per fleet and device.
import type { Anomaly, Level } from './types.js'

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

/** An `error` anomaly: the record's level is one of the configured error levels (score 1: a rule is certain). */
export function levelAnomaly(deviceId: string, ts: number, level: Level, msg: string | undefined): Anomaly {
  return {
    deviceId,
    ts,
    kind: 'error',
    metric: undefined,
    value: null,
    score: 1,
    detail: `level ${level}${msg ? ': ' + msg.slice(0, 200) : ''}`,
  }
}

/** The anomaly a metric rule finds in one value, if any. */
export function ruleAnomaly(
  rule: MetricRule,
  deviceId: string,
  ts: number,
  value: number,
): Anomaly | undefined {
  const over = rule.above !== undefined && value > rule.above
  const under = rule.below !== undefined && value < rule.below
  if (!over && !under) return undefined
  return {
    deviceId,
    ts,
    kind: rule.kind,
    metric: rule.metric,
    value,
    score: 1,
    detail: over ? `${rule.metric} ${value} > ${rule.above}` : `${rule.metric} ${value} < ${rule.below}`,
  }
}
