// POST /v1/devices/:id/baseline: a device's normal state learnt again from its stored records in a
// time range. Every record of the device in [from, to) that carries a metric is a row of the baseline
// (its first STATE_METRICS_MAX metrics are modelled); the state detector is fitted at the last row and
// from then on scores each new record against it. The new state is committed like an ingest's, at the
// version it was read at: an ingest that analysed on the old state meanwhile conflicts and retries.
import { STATE_METRICS_MAX } from '../../kernels/layout.js'
import { ApiError } from '../http/errors.js'
import { CommitConflictError, emptyCommit, type Store, seriesKey } from '../store/port.js'
import type { Analyser } from './analyse.js'
import { byName } from './analyse-state.js'
import { DEVICE_STATE_METRIC } from './device-state.js'
import { toRecord } from './record.js'

/** The most records a baseline takes: it holds them in memory (16 metrics: 12.8 MB at most). */
export const BASELINE_MAX_ROWS = 100_000

export interface Baseline {
  deviceId: string
  from: number
  to: number
  /** Records learnt from. */
  rows: number
  /** The metrics modelled, by column. */
  metrics: string[]
}

export async function learnBaseline(
  store: Store,
  analyser: Analyser,
  deviceId: string,
  from: number,
  to: number,
  now: number,
): Promise<Baseline> {
  if (!(from < to)) throw new ApiError(400, 'invalid_range', 'from must be before to')
  const metrics: string[] = []
  let values: number[][] = []
  for await (const stored of store.exportRecords({ deviceId, since: from, until: to })) {
    let parsed: unknown
    try {
      parsed = JSON.parse(stored.body)
    } catch {
      continue // stored bodies are JSON; nothing to learn from one that is not
    }
    const r = toRecord(parsed, stored.ts, stored.body, deviceId)
    if (!r.ok || r.record.metrics.length === 0) continue
    // New metrics join as the analyser adds them: first seen first, those of one record by name.
    const fresh = r.record.metrics.map(([name]) => name).filter((name) => !metrics.includes(name))
    for (const name of fresh.sort(byName)) if (metrics.length < STATE_METRICS_MAX) metrics.push(name)
    const row: number[] = new Array(metrics.length).fill(Number.NaN)
    for (const [name, value] of r.record.metrics) {
      const column = metrics.indexOf(name)
      if (column >= 0) row[column] = value
    }
    if (values.length >= BASELINE_MAX_ROWS)
      throw new ApiError(
        400,
        'baseline_too_long',
        `the range holds more than ${BASELINE_MAX_ROWS} records of ${deviceId.slice(0, 128)} with metrics: narrow it`,
      )
    values.push(row)
  }
  if (values.length < 2)
    throw new ApiError(
      400,
      'baseline_too_short',
      `the range holds ${values.length} records of ${deviceId.slice(0, 128)} with metrics; a baseline needs at least 2`,
    )
  const width = metrics.length
  const rows = new Float64Array(values.length * width).fill(Number.NaN)
  values.forEach((row, r) => {
    for (let c = 0; c < row.length; c++) rows[r * width + c] = row[c]!
  })
  const count = values.length
  values = []
  const state = analyser.learnDeviceState(deviceId, metrics, rows)
  const key = seriesKey(deviceId, DEVICE_STATE_METRIC)
  const previous = (await store.loadStates([{ deviceId, metric: DEVICE_STATE_METRIC }])).get(key)
  const commit = emptyCommit(now)
  commit.states.push({
    deviceId,
    metric: DEVICE_STATE_METRIC,
    state,
    lastTs: previous?.lastTs ?? 0,
    sampleCount: count,
    version: previous?.version ?? 0,
  })
  try {
    await store.commitIngest(commit)
  } catch (e) {
    if (!(e instanceof CommitConflictError)) throw e
    throw new ApiError(
      409,
      'baseline_conflict',
      'the device state changed while its baseline was learnt: retry',
    )
  }
  return { deviceId, from, to, rows: count, metrics }
}
