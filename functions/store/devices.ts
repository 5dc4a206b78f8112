// What one ingest batch adds to each device's summary, computed the same way by every adapter.
import type { IngestCommit } from './port.js'

export interface DeviceDelta {
  deviceId: string
  records: number
  anomalies: number
  /** Newest record ts of the batch (newest anomaly ts for a device with anomalies only). */
  lastTs: number
}

/** One delta per device of the batch (records or anomalies), in order of first appearance. */
export function deviceDeltas(batch: IngestCommit): DeviceDelta[] {
  const byId = new Map<string, DeviceDelta>()
  let last: DeviceDelta | undefined
  const get = (deviceId: string, ts: number): DeviceDelta => {
    // Records of a batch usually come in runs of one device: skip the map lookup for those.
    if (last?.deviceId === deviceId) return last
    last = byId.get(deviceId)
    if (!last) {
      last = { deviceId, records: 0, anomalies: 0, lastTs: ts }
      byId.set(deviceId, last)
    }
    return last
  }
  for (const { record } of batch.records) {
    const d = get(record.deviceId, record.ts)
    d.records++
    if (record.ts > d.lastTs) d.lastTs = record.ts
  }
  for (const a of batch.anomalies) {
    const d = get(a.deviceId, a.ts)
    d.anomalies++
    if (d.records === 0 && a.ts > d.lastTs) d.lastTs = a.ts
  }
  return [...byId.values()]
}
