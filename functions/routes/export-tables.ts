// What GET /v1/export can export (records, anomalies, windows): each table's columns, its NDJSON
// line, and its rows read from the store page by page.
import { iso, presentAnomaly, presentWindow } from '../domain/present.js'
import type { StoredAnomaly, StoredRecord, WindowFeatureRow } from '../domain/types.js'
import type { ExportQuery, Store } from '../store/port.js'
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

/** Closed windows in `end` order, then the order they were stored in; since/until bound `end`. */
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
  rows: (store, query) => store.exportWindows(query)[Symbol.asyncIterator](),
}

export const TABLES = { records, anomalies, windows } as const
