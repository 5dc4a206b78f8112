// How stored values appear in API answers and exports: times as ISO-8601, absent values as null.
import type { Anomaly, DeviceSummary, StoredAnomaly, StoredDeadLetter, WindowFeatureRow } from './types.js'

export const iso = (ms: number) => new Date(ms).toISOString()

export function presentAnomaly(a: Anomaly | StoredAnomaly) {
  return {
    ...('id' in a ? { id: a.id } : {}),
    deviceId: a.deviceId,
    ts: iso(a.ts),
    kind: a.kind,
    metric: a.metric ?? null,
    value: a.value,
    score: a.score,
    detail: a.detail ?? null,
  }
}

export function presentDevice(d: DeviceSummary) {
  return {
    deviceId: d.deviceId,
    firstSeen: iso(d.firstSeen),
    lastSeen: iso(d.lastSeen),
    lastTs: iso(d.lastTs),
    recordCount: d.recordCount,
    anomalyCount: d.anomalyCount,
  }
}

export function presentWindow(w: WindowFeatureRow) {
  return {
    start: iso(w.start),
    end: iso(w.end),
    count: w.count,
    mean: w.mean,
    std: w.std,
    min: w.min,
    max: w.max,
    range: w.range,
  }
}

export function presentDeadLetter(d: StoredDeadLetter) {
  return {
    id: d.id,
    receivedAt: iso(d.receivedAt),
    position: d.position,
    reason: d.reason,
    contentType: d.contentType,
    raw: d.raw,
    truncated: d.truncated ?? null,
  }
}
