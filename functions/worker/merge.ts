// The shards' answers to the parts of one batch (split.ts), made into the answer one writer would
// have given the whole batch: counts added up, rejections in batch positions (the first
// REJECTIONS_KEPT of them), anomalies in batch record order (the first ANOMALIES_LISTED). The batch
// is answered 200 only when every part was (front-door.ts answers the first part refused).
import { ANOMALIES_LISTED } from '../domain/ingest.js'
import { REJECTIONS_KEPT } from '../domain/ingest-body.js'
import type { DeviceRecord } from '../domain/types.js'
import type { IngestPart } from './split.js'

export interface PartAnswer {
  part: IngestPart
  status: number
  body: string
  replayed: boolean
}

interface Accepted {
  accepted: number
  rejectedCount: number
  rejected: ({ index?: number; line?: number } & Record<string, unknown>)[]
  anomalyCount: number
  anomalies: PresentedAnomaly[]
}

interface PresentedAnomaly {
  deviceId: string
  ts: string
  metric: string | null
  value: number
}

/** The body of the batch's answer when every part was accepted; `now` is when the front door parsed it. */
export function mergeAccepted(answers: PartAnswer[], now: number): string {
  const merged: Accepted = { accepted: 0, rejectedCount: 0, rejected: [], anomalyCount: 0, anomalies: [] }
  const placed: { ordinal: number; at: number; anomaly: PresentedAnomaly }[] = []
  for (const { part, body } of answers) {
    const answer = JSON.parse(body) as Accepted
    merged.accepted += answer.accepted
    merged.rejectedCount += answer.rejectedCount
    merged.anomalyCount += answer.anomalyCount
    for (const r of answer.rejected) {
      if (part.indexes && r.index !== undefined) r.index = part.indexes[r.index]
      merged.rejected.push(r)
    }
    const ordinals = recordOf(answer.anomalies, part.records, now)
    answer.anomalies.forEach((anomaly, i) => {
      const at = ordinals[i]!
      placed.push({
        ordinal: at < 0 ? Number.MAX_SAFE_INTEGER : part.ordinals[at]!,
        at: placed.length,
        anomaly,
      })
    })
  }
  merged.rejected.sort((a, b) => (a.line ?? a.index ?? 0) - (b.line ?? b.index ?? 0))
  merged.rejected.length = Math.min(merged.rejected.length, REJECTIONS_KEPT)
  placed.sort((a, b) => a.ordinal - b.ordinal || a.at - b.at)
  merged.anomalies = placed.slice(0, ANOMALIES_LISTED).map((p) => p.anomaly)
  return JSON.stringify(merged)
}

/**
 * The part record each anomaly is on (-1 when none fits). A part lists its anomalies in record
 * order, so each is on the first record at or after the previous one's that fits it: same device
 * and time (unless the record's time was the arrival time, which the shard set on its own clock),
 * and the anomaly's metric and value, or a level for a level anomaly. Records that fit equally
 * (same device, time and values) give the same anomalies, so the choice between them cannot change
 * the order unless another shard's record lies between such twins.
 */
export function recordOf(anomalies: PresentedAnomaly[], records: DeviceRecord[], now: number): number[] {
  const out: number[] = []
  let at = 0
  for (const a of anomalies) {
    const ts = Date.parse(a.ts)
    let found = -1
    for (let i = at; i < records.length; i++) {
      const r = records[i]!
      if (r.deviceId !== a.deviceId) continue
      if (r.ts !== now && new Date(r.ts).getTime() !== ts) continue
      const fits =
        a.metric === null
          ? r.level !== undefined
          : r.metrics.some(([m, v]) => m === a.metric && v === a.value)
      if (fits) {
        found = i
        break
      }
    }
    out.push(found)
    if (found >= 0) at = found
  }
  return out
}
