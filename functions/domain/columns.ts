// A batch of records in columns: what the analyser works on. Built from validated records on the
// server, or straight from stored columns in the browser replay tool (no object per record).
import { type DeviceRecord, LEVELS, type Level } from './types.js'

export interface SeriesColumns {
  /** Index into `RecordColumns.devices`. */
  device: number
  metric: string
  /** The records (indices into the batch) carrying this metric, in batch order. */
  rows: Uint32Array
  values: Float64Array
}

export interface RecordColumns {
  n: number
  /** Per record: epoch ms. */
  ts: Float64Array
  /** Device ids, indexed by `device`. */
  devices: string[]
  /** Per record: index into `devices`. */
  device: Uint32Array
  /** Per record: 0 for none, else 1 + index in LEVELS. */
  level: Uint8Array
  /** Per record: the message, used to explain `error` anomalies (sparse). */
  msg: (string | undefined)[]
  /** Series by device in first-appearance order, then metric in first-appearance order. */
  series: SeriesColumns[]
}

export const levelCode = (level: Level | undefined): number => (level ? LEVELS.indexOf(level) + 1 : 0)
export const levelOf = (code: number): Level | undefined => (code ? LEVELS[code - 1] : undefined)

/** Puts validated records into columns. */
export function columnsOf(records: DeviceRecord[]): RecordColumns {
  const n = records.length
  const ts = new Float64Array(n)
  const device = new Uint32Array(n)
  const level = new Uint8Array(n)
  const msg: (string | undefined)[] = []
  const devices: string[] = []
  const deviceIndex = new Map<string, number>()
  const byDevice: Map<string, { metric: string; rows: number[]; values: number[] }>[] = []
  for (let at = 0; at < n; at++) {
    const r = records[at]!
    let d = deviceIndex.get(r.deviceId)
    if (d === undefined) {
      d = devices.length
      devices.push(r.deviceId)
      deviceIndex.set(r.deviceId, d)
      byDevice.push(new Map())
    }
    ts[at] = r.ts
    device[at] = d
    if (r.level) {
      level[at] = levelCode(r.level)
      msg[at] = r.msg
    }
    const metrics = byDevice[d]!
    for (const [metric, value] of r.metrics) {
      let s = metrics.get(metric)
      if (!s) {
        s = { metric, rows: [], values: [] }
        metrics.set(metric, s)
      }
      s.rows.push(at)
      s.values.push(value)
    }
  }
  const series: SeriesColumns[] = []
  byDevice.forEach((metrics, d) => {
    for (const s of metrics.values())
      series.push({
        device: d,
        metric: s.metric,
        rows: Uint32Array.from(s.rows),
        values: Float64Array.from(s.values),
      })
  })
  return { n, ts, devices, device, level, msg, series }
}
