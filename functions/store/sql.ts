// Every SQL statement the SQL adapters run, in the dialect common to SQLite, D1 and libSQL, with
// positional `?` parameters only (D1 has no named ones). Adapters only prepare and bind these.
import { CHUNK_SPAN_MS } from './chunks.js'
import type { AnomalyQuery, ExportQuery } from './port.js'

/** A statement and its positional parameters. */
export interface BoundSql {
  sql: string
  params: unknown[]
}

/** A multi-row INSERT: columns in bind order, and an optional ON CONFLICT clause. */
export interface InsertSpec {
  table: string
  columns: readonly string[]
  suffix?: string
  /** Columns holding bytes (sent as hex when rows travel as JSON). */
  blobColumns?: readonly string[]
  /** Columns whose value is the same SQL expression on every row, after the bound ones. */
  computed?: readonly { column: string; sql: string }[]
}

/** Every column name, the bound ones then the computed ones. */
const allColumns = (spec: InsertSpec): string[] => [
  ...spec.columns,
  ...(spec.computed ?? []).map((c) => c.column),
]

/**
 * Rows per multi-row INSERT: the fastest size measured (a batch of 100 beats single-row inserts by
 * ~35%), and far below SQLite's 32766 bound-parameter limit. D1 allows only 100 parameters per
 * statement, so a D1 adapter should use `Math.floor(100 / columns.length)` instead.
 */
export const MAX_ROWS_PER_INSERT = 100

export function insertSql(spec: InsertSpec, rows: number): string {
  const row =
    '(' + [...spec.columns.map(() => '?'), ...(spec.computed ?? []).map((c) => c.sql)].join(', ') + ')'
  const values = new Array<string>(rows).fill(row).join(', ')
  const suffix = spec.suffix ? ' ' + spec.suffix : ''
  return `INSERT INTO ${spec.table} (${allColumns(spec).join(', ')}) VALUES ${values}${suffix}`
}

/**
 * The same INSERT with its rows in one parameter: a JSON array of rows, each an array of the column
 * values in order (blob columns as hex). However many rows, one statement binds one parameter, so a
 * large commit stays within D1's limits (100 parameters per statement, a bounded number of
 * statements per request) by cutting the rows into parameters of at most 2 MB.
 * `WHERE true` lets SQLite tell the upsert's ON CONFLICT from a join constraint.
 */
export function jsonInsertSql(spec: InsertSpec): string {
  const values = spec.columns.map((c, i) => {
    const value = `json_extract(value, '$[${i}]')`
    return spec.blobColumns?.includes(c) ? `unhex(${value})` : value
  })
  for (const c of spec.computed ?? []) values.push(c.sql)
  const suffix = spec.suffix ? ' ' + spec.suffix : ''
  return (
    `INSERT INTO ${spec.table} (${allColumns(spec).join(', ')}) ` +
    `SELECT ${values.join(', ')} FROM json_each(?) WHERE true${suffix}`
  )
}

/**
 * Record chunks (chunks.ts), under the commit sequence number BUMP_RECORD_SEQ just took. The
 * number is read from record_seq on every row: the same within a commit whichever statement runs.
 */
export const INSERT_CHUNKS: InsertSpec = {
  table: 'record_chunks',
  columns: ['device_id', 'ts_min', 'ts_max', 'ingested_at', 'count', 'data'],
  computed: [{ column: 'commit_seq', sql: '(SELECT next FROM record_seq)' }],
}

/** Takes the next commit sequence number, before each slice of a commit's chunks. */
export const BUMP_RECORD_SEQ = 'UPDATE record_seq SET next = next + 1'

export const INSERT_ANOMALIES: InsertSpec = {
  table: 'anomalies',
  columns: ['device_id', 'ts', 'kind', 'metric', 'value', 'score', 'detail', 'created_at'],
}

export const INSERT_WINDOWS: InsertSpec = {
  table: 'windows',
  columns: [
    'device_id',
    'metric',
    'start',
    '"end"',
    'count',
    'mean',
    'std',
    'min',
    'max',
    '"range"',
    'created_at',
  ],
}

export const INSERT_DEAD_LETTERS: InsertSpec = {
  table: 'dead_letters',
  columns: ['received_at', 'position', 'reason', 'content_type', 'raw', 'raw_bytes', 'raw_sha256'],
}

/** Stores version + 1; the series_*_version triggers abort the commit when another writer moved it on. */
export const UPSERT_SERIES: InsertSpec = {
  table: 'series',
  columns: ['device_id', 'metric', 'state', 'last_ts', 'sample_count', 'updated_at', 'version'],
  suffix:
    'ON CONFLICT (device_id, metric) DO UPDATE SET state = excluded.state, last_ts = excluded.last_ts, ' +
    'sample_count = excluded.sample_count, updated_at = excluded.updated_at, version = excluded.version',
  blobColumns: ['state'],
}

/** One row per device of a batch, carrying that batch's counts. */
export const UPSERT_DEVICES: InsertSpec = {
  table: 'devices',
  columns: [
    'device_id',
    'first_seen',
    'last_seen',
    'last_ts',
    'record_count',
    'anomaly_count',
    'act_minute',
    'act_records',
    'act_anomalies',
  ],
  suffix:
    'ON CONFLICT (device_id) DO UPDATE SET last_seen = excluded.last_seen, ' +
    'last_ts = max(last_ts, excluded.last_ts), record_count = record_count + excluded.record_count, ' +
    'anomaly_count = anomaly_count + excluded.anomaly_count, ' +
    countInMinute('excluded.act_minute', 'excluded.act_records', 'excluded.act_anomalies'),
}

/**
 * SET clauses adding to a devices row's current-minute counts (see migration 5): a later minute
 * starts them afresh (the trigger keeps the closed one); an earlier one (a commit timed a little
 * before another) counts in the current minute. SQLite evaluates every SET on the old row.
 * `minute` appears three times (a `?` there takes three parameters).
 */
export function countInMinute(minute: string, records: string, anomalies: string): string {
  const later = `(act_minute IS NULL OR ${minute} > act_minute)`
  return (
    `act_records = CASE WHEN ${later} THEN ${records} ELSE act_records + ${records} END, ` +
    `act_anomalies = CASE WHEN ${later} THEN ${anomalies} ELSE act_anomalies + ${anomalies} END, ` +
    `act_minute = max(ifnull(act_minute, 0), ${minute})`
  )
}

/** The start of the minute `at` falls in (epoch ms): activity's bucket. */
export const minuteOf = (at: number): number => Math.floor(at / 60_000) * 60_000

/**
 * Fails on a key already stored, which rolls the whole batch back (another writer stored it first).
 * Expired answers under the same keys are deleted first (DELETE_EXPIRED_KEYS).
 */
export const INSERT_IDEMPOTENCY: InsertSpec = {
  table: 'idempotency',
  columns: ['"key"', 'status', 'response', 'body_hash', 'created_at'],
}

const CHUNK = 'id, device_id, ts_min, commit_seq, ingested_at, data'
const ANOMALY = 'id, device_id, ts, kind, metric, value, score, detail'
const WINDOW = 'device_id, metric, start, "end", count, mean, std, min, max, "range"'
const DEAD_LETTER = 'id, received_at, position, reason, content_type, raw, raw_bytes, raw_sha256'

export const SQL = {
  appliedMigrations: 'SELECT version FROM schema_migrations',
  recordMigration: 'INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)',
  ping: 'SELECT 1',
  /** Parameters: key, notBefore. */
  findIdempotent:
    'SELECT "key", status, response, body_hash FROM idempotency WHERE "key" = ? AND created_at >= ?',
  /** Parameters: a JSON array of keys, notBefore. */
  deleteExpiredKeys:
    'DELETE FROM idempotency WHERE "key" IN (SELECT value FROM json_each(?)) AND created_at < ?',
  /** One parameter: a JSON array of [deviceId, metric] pairs. */
  loadStates:
    'SELECT device_id, metric, state, last_ts, sample_count, version FROM series WHERE (device_id, metric) IN ' +
    "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))",
  /** Parameters: device id, metric, since (`end` >= since), limit. The windows_end index serves the range. */
  recentWindows:
    `SELECT ${WINDOW} FROM windows WHERE device_id = ? AND metric = ? AND "end" >= ? ` +
    'ORDER BY "end" DESC, rowid DESC LIMIT ?',
  listDeadLetters: `SELECT ${DEAD_LETTER} FROM dead_letters ORDER BY id DESC LIMIT ?`,
  listDeadLettersAfter: `SELECT ${DEAD_LETTER} FROM dead_letters WHERE id < ? ORDER BY id DESC LIMIT ?`,
} as const

/** The tables purge empties from the front, with the column holding their ingest time. */
export const PURGED_TABLES = {
  /** Record chunks: a step's record count is PURGE_RECORD_COUNT over its range. */
  records: 'ingested_at',
  anomalies: 'created_at',
  windows: 'created_at',
  deadLetters: 'received_at',
  idempotency: 'created_at',
  deviceEvents: 'ts',
} as const

const TABLE_NAMES: Record<keyof typeof PURGED_TABLES, string> = {
  records: 'record_chunks',
  anomalies: 'anomalies',
  windows: 'windows',
  deadLetters: 'dead_letters',
  idempotency: 'idempotency',
  deviceEvents: 'device_events',
}

/**
 * The rowid range [lo, hi) that purge deletes: every row before the first one (in rowid order)
 * ingested at or after the cutoff `?`. Rows are appended in time order, so this needs no index on
 * the time column: the scan stops at the first row to keep. When no row is that new, all of them.
 */
export function purgeRangeSql(table: keyof typeof PURGED_TABLES): string {
  const name = TABLE_NAMES[table]
  return (
    `SELECT min(rowid) AS lo, ifnull((SELECT rowid FROM ${name} WHERE ${PURGED_TABLES[table]} >= ? ` +
    `ORDER BY rowid LIMIT 1), max(rowid) + 1) AS hi FROM ${name}`
  )
}

/** The records in the chunks with rowid in [?, ?), counted before a purge step deletes them. */
export const PURGE_RECORD_COUNT =
  'SELECT ifnull(sum(count), 0) AS records FROM record_chunks WHERE rowid >= ? AND rowid < ?'

/** Deletes the rows with rowid in [?, ?): one bounded step of a purge. */
export function purgeStepSql(table: keyof typeof PURGED_TABLES): string {
  return `DELETE FROM ${TABLE_NAMES[table]} WHERE rowid >= ? AND rowid < ?`
}

/**
 * Series, and devices never enrolled, with no data since the cutoff, at most `?` rows per statement.
 * An enrolled device stays (its identity and history are the fleet's) until it is revoked.
 */
/** Activity rows of minutes before `?`, at most `?` per statement (appended in about minute order). */
export const PURGE_ACTIVITY =
  'DELETE FROM activity WHERE rowid IN (SELECT rowid FROM activity WHERE minute < ? LIMIT ?)'

export const PURGE_IDLE = {
  series: 'DELETE FROM series WHERE rowid IN (SELECT rowid FROM series WHERE updated_at < ? LIMIT ?)',
  devices:
    'DELETE FROM devices WHERE rowid IN ' +
    '(SELECT rowid FROM devices WHERE last_seen < ? AND public_key IS NULL LIMIT ?)',
} as const

/** Challenges and device tokens past their expiry (parameter: now). */
export const PURGE_EXPIRED = [
  'DELETE FROM device_challenges WHERE expires_at <= ?',
  'DELETE FROM device_tokens WHERE expires_at <= ?',
] as const

/** Newest first; `after` is the (ts, id) of the last row of the previous page. */
export function listAnomaliesSql(
  q: AnomalyQuery,
  after: { ts: number; id: number } | undefined,
  limit: number,
): BoundSql {
  const { where, params, add } = conditions()
  if (q.deviceId !== undefined) add('device_id = ?', q.deviceId)
  if (q.kind !== undefined) add('kind = ?', q.kind)
  if (q.since !== undefined) add('ts >= ?', q.since)
  // On later pages the cursor is the upper bound of the index range: SQLite ranges on one upper
  // bound only, and with `until` every page would scan again from there. `until` stays a filter
  // (`+ts`: no index), so a cursor from another query cannot lift it.
  if (after) {
    add('(ts, id) < (?, ?)', after.ts, after.id)
    if (q.until !== undefined) add('+ts < ?', q.until)
  } else if (q.until !== undefined) add('ts < ?', q.until)
  params.push(limit)
  return {
    sql: `SELECT ${ANOMALY} FROM anomalies${whereClause(where)} ORDER BY ts DESC, id DESC LIMIT ?`,
    params,
  }
}

/**
 * The next chunks in (ts_min, id) order after `after`, for reading records in time order
 * (chunk-reads.ts). The keyset is the lower bound of the record_chunks_ts range (or of
 * record_chunks_device's, for a device); `since` and `until` only filter: every chunk holding a
 * record at or after `since` starts after since - CHUNK_SPAN_MS, where the first page starts.
 */
export function chunksByTimeSql(
  q: ExportQuery,
  after: { tsMin: number; id: number },
  limit: number,
): BoundSql {
  const { where, params, add } = conditions()
  if (q.deviceId !== undefined) add('device_id = ?', q.deviceId)
  add('(ts_min, id) > (?, ?)', after.tsMin, after.id)
  if (q.since !== undefined) add('ts_max >= ?', q.since)
  if (q.until !== undefined) add('ts_min < ?', q.until)
  params.push(limit)
  return {
    sql: `SELECT ${CHUNK} FROM record_chunks${whereClause(where)} ORDER BY ts_min, id LIMIT ?`,
    params,
  }
}

/**
 * The next chunks in storage order (id) after `afterId`: arrival order. The device and time bounds
 * are filters on the rowid walk (`+`: no index serves them in this order).
 */
export function chunksByArrivalSql(q: ExportQuery, afterId: number, limit: number): BoundSql {
  const { where, params, add } = conditions()
  add('id > ?', afterId)
  if (q.deviceId !== undefined) add('+device_id = ?', q.deviceId)
  if (q.since !== undefined) add('+ts_max >= ?', q.since)
  if (q.until !== undefined) add('+ts_min < ?', q.until)
  params.push(limit)
  return { sql: `SELECT ${CHUNK} FROM record_chunks${whereClause(where)} ORDER BY id LIMIT ?`, params }
}

/**
 * A device's chunks newest ts_min first, before the keyset `before`, that can hold records at or
 * after `since` (the record_chunks_device range is bounded below, so a rare device costs its own
 * chunks of the last CHUNK_SPAN_MS before `since` at most).
 */
export function chunksNewestFirstSql(
  deviceId: string,
  since: number,
  before: { tsMin: number; id: number },
  limit: number,
): BoundSql {
  return {
    sql:
      `SELECT ${CHUNK} FROM record_chunks WHERE device_id = ? AND ts_min > ? AND (ts_min, id) < (?, ?) ` +
      'AND ts_max >= ? ORDER BY ts_min DESC, id DESC LIMIT ?',
    params: [
      deviceId,
      Math.max(since - CHUNK_SPAN_MS, Number.MIN_SAFE_INTEGER),
      before.tsMin,
      before.id,
      since,
      limit,
    ],
  }
}

/**
 * The next closed windows in ("end", rowid) order after the keyset, through windows_end; the first
 * page starts at `since` (the keyset (since, -1) is `"end" >= since`). Device and until only filter.
 */
export function exportWindowsSql(
  q: ExportQuery,
  after: { end: number; rowid: number },
  limit: number,
): BoundSql {
  const { where, params, add } = conditions()
  if (q.deviceId !== undefined) add('device_id = ?', q.deviceId)
  add('("end", rowid) > (?, ?)', after.end, after.rowid)
  if (q.until !== undefined) add('"end" < ?', q.until)
  params.push(limit)
  return {
    sql: `SELECT rowid, ${WINDOW} FROM windows${whereClause(where)} ORDER BY "end", rowid LIMIT ?`,
    params,
  }
}

/** Collects AND-ed conditions and their parameters in bind order. */
function conditions() {
  const where: string[] = []
  const params: unknown[] = []
  const add = (condition: string, ...values: unknown[]): void => {
    where.push(condition)
    params.push(...values)
  }
  return { where, params, add }
}

function whereClause(where: string[]): string {
  return where.length === 0 ? '' : ' WHERE ' + where.join(' AND ')
}
