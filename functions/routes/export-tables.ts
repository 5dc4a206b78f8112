// What GET /v1/export can export (records, anomalies, windows): each table's columns, its NDJSON
// line, and its rows read from the store page by page.
import { iso, presentAnomaly, presentWindow } from '../domain/present.js'
import { toRecord } from '../domain/record.js'
import type { StoredAnomaly, StoredRecord, WindowFeatureRow } from '../domain/types.js'
import { type ExportQuery, type Store, seriesKey } from '../store/port.js'
import type { Cell, Column } from './export-encoders.js'

export type ExportTable = 'records' | 'anomalies' | 'windows'
export type ExportFormat = 'ndjson' | 'parquet' | 'csv'

export interface TableSpec<R> {
  columns: Column[]
  cells(row: R): Cell[]
  /** One NDJSON line, with its newline. */
  line(row: R): string
  rows(store: Store, query: ExportQuery): AsyncIterator<R>
}

const col = (name: string, type: Column['type'], nullable = false): Column => ({ name, type, nullable })

/** One export line: the record as sent, with ts normalised and `score` and `anomalies` added. */
export function exportLine(r: StoredRecord): string {
  const body = JSON.parse(r.body) as Record<string, unknown>
  return (
    JSON.stringify({
      ...body,
      deviceId: r.deviceId,
      ts: iso(r.ts),
      score: r.score,
      anomalies: r.kinds.join(','),
    }) + '\n'
  )
}

/**
 * Records: the stored verdict beside the record as sent (`body`, its JSON text: every field and
 * metric, unknown fields kept; DuckDB reads a field with `body->>'temp'`).
 */
export const records: TableSpec<StoredRecord> = {
  columns: [
    col('deviceId', 'STRING'),
    col('ts', 'TIMESTAMP'),
    col('level', 'STRING', true),
    col('score', 'DOUBLE'),
    col('anomalies', 'STRING'),
    col('body', 'STRING'),
  ],
  cells: (r) => [r.deviceId, r.ts, r.level ?? null, r.score, r.kinds.join(','), r.body],
  line: exportLine,
  rows: (store, query) => store.exportRecords(query)[Symbol.asyncIterator](),
}

/** Anomalies, newest first (ts, then id), as GET /v1/anomalies lists them; `order` does not apply. */
export const anomalies: TableSpec<StoredAnomaly> = {
  columns: [
    col('id', 'INT64'),
    col('deviceId', 'STRING'),
    col('ts', 'TIMESTAMP'),
    col('kind', 'STRING'),
    col('metric', 'STRING', true),
    col('value', 'DOUBLE', true),
    col('score', 'DOUBLE'),
    col('detail', 'STRING', true),
  ],
  cells: (a) => [a.id, a.deviceId, a.ts, a.kind, a.metric ?? null, a.value, a.score, a.detail ?? null],
  line: (a) => JSON.stringify(presentAnomaly(a)) + '\n',
  rows: (store, query) => anomalyRows(store, query),
}

const PAGE = 1000

async function* anomalyRows(store: Store, query: ExportQuery): AsyncGenerator<StoredAnomaly> {
  let cursor: string | undefined
  do {
    const page = await store.listAnomalies({
      ...(query.deviceId === undefined ? {} : { deviceId: query.deviceId }),
      ...(query.since === undefined ? {} : { since: query.since }),
      ...(query.until === undefined ? {} : { until: query.until }),
      limit: PAGE,
      ...(cursor === undefined ? {} : { cursor }),
    })
    yield* page.items
    cursor = page.next ?? undefined
  } while (cursor !== undefined)
}

/** Closed windows: by series (device, then metric), oldest first; since/until bound `end`. */
export const windows: TableSpec<WindowFeatureRow> = {
  columns: [
    col('deviceId', 'STRING'),
    col('metric', 'STRING'),
    col('start', 'TIMESTAMP'),
    col('end', 'TIMESTAMP'),
    col('count', 'INT64'),
    col('mean', 'DOUBLE', true),
    col('std', 'DOUBLE', true),
    col('min', 'DOUBLE', true),
    col('max', 'DOUBLE', true),
    col('range', 'DOUBLE', true),
  ],
  cells: (w) => [w.deviceId, w.metric, w.start, w.end, w.count, w.mean, w.std, w.min, w.max, w.range],
  line: (w) => JSON.stringify({ deviceId: w.deviceId, metric: w.metric, ...presentWindow(w) }) + '\n',
  rows: (store, query) => windowRows(store, query),
}

/** The most windows read of one series (the port reads a series' windows newest first, in one go). */
const SERIES_WINDOWS = 2 ** 31 - 1

/**
 * The store port has no iterator over windows, only a series' newest (recentWindows). So the
 * series are found first, from one pass over the records' metrics (memory: one key per series),
 * then each series' windows are read whole (memory: one series' windows at a time, about a
 * hundredth of its records). A store-side windows iterator would make this one bounded read.
 */
async function* windowRows(store: Store, query: ExportQuery): AsyncGenerator<WindowFeatureRow> {
  const series = new Map<string, { deviceId: string; metric: string }>()
  const scan = query.deviceId === undefined ? {} : { deviceId: query.deviceId }
  for await (const r of store.exportRecords({ ...scan, order: 'arrival' })) {
    const parsed = toRecord(JSON.parse(r.body), r.ts, r.body, r.deviceId)
    if (!parsed.ok) continue
    for (const [metric] of parsed.record.metrics) {
      const key = seriesKey(r.deviceId, metric)
      if (!series.has(key)) series.set(key, { deviceId: r.deviceId, metric })
    }
  }
  const ordered = [...series.values()].sort(
    (a, b) => compare(a.deviceId, b.deviceId) || compare(a.metric, b.metric),
  )
  const since = query.since ?? Number.MIN_SAFE_INTEGER
  for (const { deviceId, metric } of ordered) {
    const newest = await store.recentWindows(deviceId, metric, SERIES_WINDOWS, since)
    for (let i = newest.length - 1; i >= 0; i--) {
      const w = newest[i]!
      if (query.until === undefined || w.end < query.until) yield w
    }
  }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

export const TABLES = { records, anomalies, windows } as const
