// How each row of an ingest commit binds to its INSERT, column by column (the order of the
// InsertSpec columns in sql.ts). Shared by every SQL adapter.
import type { Anomaly, DeadLetter, SeriesState, WindowFeatureRow } from '../domain/types.js'
import type { Chunk } from './chunks.js'
import type { DeviceDelta } from './devices.js'
import type { IdempotentAnswer } from './port.js'
import { minuteOf } from './sql.js'

/** Writes one item's values into `params` from `at` on; `context` is the commit time. */
export type RowWriter<T, C> = (item: T, params: unknown[], at: number, context: C) => void

export const writeChunk: RowWriter<Chunk, number> = (c, p, i, at) => {
  p[i] = c.deviceId
  p[i + 1] = c.tsMin
  p[i + 2] = c.tsMax
  p[i + 3] = at
  p[i + 4] = c.count
  p[i + 5] = c.data
}

export const writeAnomaly: RowWriter<Anomaly, number> = (a, p, i, at) => {
  p[i] = a.deviceId
  p[i + 1] = a.ts
  p[i + 2] = a.kind
  p[i + 3] = a.metric ?? null
  p[i + 4] = a.value
  p[i + 5] = a.score
  p[i + 6] = a.detail ?? null
  p[i + 7] = at
}

export const writeWindow: RowWriter<WindowFeatureRow, number> = (w, p, i, at) => {
  p[i] = w.deviceId
  p[i + 1] = w.metric
  p[i + 2] = w.start
  p[i + 3] = w.end
  p[i + 4] = w.count
  p[i + 5] = w.mean
  p[i + 6] = w.std
  p[i + 7] = w.min
  p[i + 8] = w.max
  p[i + 9] = w.range
  p[i + 10] = at
}

export const writeDeadLetter: RowWriter<DeadLetter, null> = (d, p, i) => {
  p[i] = d.receivedAt
  p[i + 1] = d.position
  p[i + 2] = d.reason
  p[i + 3] = d.contentType
  p[i + 4] = d.raw
  p[i + 5] = d.truncated?.bytes ?? null
  p[i + 6] = d.truncated?.sha256 ?? null
}

/** The state is stored at the next version (see SeriesState.version). */
export const writeSeries: RowWriter<SeriesState, number> = (s, p, i, at) => {
  p[i] = s.deviceId
  p[i + 1] = s.metric
  p[i + 2] = s.state
  p[i + 3] = s.lastTs
  p[i + 4] = s.sampleCount
  p[i + 5] = at
  p[i + 6] = s.version + 1
}

export const writeIdempotency: RowWriter<IdempotentAnswer, number> = (k, p, i, at) => {
  p[i] = k.key
  p[i + 1] = k.status
  p[i + 2] = k.response
  p[i + 3] = k.bodyHash
  p[i + 4] = at
}

export const writeDevice: RowWriter<DeviceDelta, number> = (d, p, i, at) => {
  p[i] = d.deviceId
  p[i + 1] = at
  p[i + 2] = at
  p[i + 3] = d.lastTs
  p[i + 4] = d.records
  p[i + 5] = d.anomalies
  p[i + 6] = minuteOf(at)
  p[i + 7] = d.records
  p[i + 8] = d.anomalies
}
