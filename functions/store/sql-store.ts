// The Store over SQL, for every database that speaks the small D1-shaped API below: Cloudflare D1
// itself, Spin's SQLite (spin/spin-sqlite.ts) and better-sqlite3's reads on Node (sqlite.ts). The
// SQL is in sql.ts and schema.ts (the fleet's in fleet-sql.ts, run by sql-fleet.ts). An ingest
// commit is one batch (one transaction) whose rows travel as JSON parameters (json-rows.ts), so
// that any commit fits D1's limits.
import { pause } from '../domain/pause.js'
import type {
  DeviceSummary,
  Page,
  SeriesState,
  StoredAnomaly,
  StoredDeadLetter,
  StoredRecord,
  WindowFeatureRow,
} from '../domain/types.js'
import { errorText } from '../observability/error-text.js'
import type { AppStore } from './apps-port.js'
import {
  type FetchChunks,
  recentRecordsOf,
  recordsInArrivalOrder,
  recordsInTimeOrder,
} from './chunk-reads.js'
import { type ChunkRow, packChunks } from './chunks.js'
import { deviceDeltas } from './devices.js'
import type { FeedStore } from './feed-port.js'
import type { FleetStore, Liveness } from './fleet-port.js'
import { getDeviceSql, listDevicesSql } from './fleet-sql.js'
import { jsonChunks, jsonRowsInserts } from './json-rows.js'
import { anomalyCursor, checkLimit, checkTime, deadLetterCursor, deviceCursor, toPage } from './paging.js'
import {
  type AnomalyQuery,
  CommitConflictError,
  type DeviceQuery,
  type ExportQuery,
  type IdempotentAnswer,
  type IngestCommit,
  type PageQuery,
  type PurgeCutoffs,
  type PurgeResult,
  type Store,
  seriesKey,
} from './port.js'
import {
  type RowWriter,
  writeAnomaly,
  writeChunk,
  writeDeadLetter,
  writeDevice,
  writeIdempotency,
  writeSeries,
  writeWindow,
} from './row-writers.js'
import {
  type AnomalyRow,
  type DeadLetterRow,
  type DeviceRow,
  type SeriesRow,
  toAnomaly,
  toDeadLetter,
  toDevice,
  toSeriesState,
  toWindow,
  type WindowRow,
} from './rows.js'
import { CREATE_MIGRATIONS_TABLE, MIGRATIONS } from './schema.js'
import {
  BUMP_RECORD_SEQ,
  exportWindowsSql,
  INSERT_ANOMALIES,
  INSERT_CHUNKS,
  INSERT_DEAD_LETTERS,
  INSERT_IDEMPOTENCY,
  INSERT_WINDOWS,
  type InsertSpec,
  listAnomaliesSql,
  PURGE_ACTIVITY,
  PURGE_EXPIRED,
  PURGE_IDLE,
  PURGE_RECORD_COUNT,
  PURGED_TABLES,
  purgeRangeSql,
  purgeStepSql,
  SQL,
  UPSERT_DEVICES,
  UPSERT_SERIES,
} from './sql.js'
import { SqlAppStore } from './sql-apps.js'
import { SqlFeedStore } from './sql-feed.js'
import { SqlFleetStore } from './sql-fleet.js'

/** The part of the D1 binding this adapter uses (structural, so no global Workers types are needed). */
export interface D1Database {
  prepare(sql: string): D1Statement
  batch(statements: D1Statement[]): Promise<{ meta: { changes: number } }[]>
  exec(sql: string): Promise<unknown>
}
export interface D1Statement {
  bind(...values: unknown[]): D1Statement
  all<T>(): Promise<{ results: T[] }>
  first<T>(): Promise<T | null>
  run(): Promise<{ meta: { changes: number } }>
}

/** Rows deleted per purge statement: each is its own short transaction. */
export const PURGE_STEP_ROWS = 5000
/** Windows per page read by exportWindows. */
const WINDOWS_PAGE = 1000

/** Record chunks deleted per purge statement. */
export const PURGE_STEP_CHUNKS = 500

/** How long per-minute activity is kept: the fleet list looks back one hour. */
export const ACTIVITY_KEPT_MS = 2 * 3_600_000

/**
 * Applies pending migrations; each migration and its bookkeeping row go in one atomic batch. Safe
 * when several instances start at once: a migration that fails because another instance applied it
 * meanwhile is skipped. Refuses a database migrated by a newer build.
 */
export async function migrateD1(db: D1Database): Promise<void> {
  await db.prepare(CREATE_MIGRATIONS_TABLE).run()
  const applied = await appliedVersions(db)
  const known = new Set(MIGRATIONS.map((m) => m.version))
  const unknown = [...applied].filter((v) => !known.has(v))
  if (unknown.length > 0) throw new Error(`database has unknown schema versions ${unknown.join(', ')}`)
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue
    try {
      await db.batch([
        ...migration.statements.map((s) => db.prepare(s)),
        db.prepare(SQL.recordMigration).bind(migration.version, Date.now()),
      ])
    } catch (e) {
      if (!(await appliedVersions(db)).has(migration.version)) throw e
    }
  }
}

async function appliedVersions(db: D1Database): Promise<Set<number>> {
  const { results } = await db.prepare(SQL.appliedMigrations).all<{ version: number }>()
  return new Set(results.map((r) => r.version))
}

/** Opens the store, migrating first. */
export async function openD1Store(db: D1Database): Promise<Store> {
  await migrateD1(db)
  return new SqlStore(db)
}

/**
 * The error a failed commit means: CommitConflictError when a series version trigger or the
 * idempotency key's uniqueness stopped it (another writer got there first), else the error itself.
 * Drivers word and wrap errors differently (D1 prefixes, Spin's error variants), so the text is searched.
 */
export function commitError(e: unknown): unknown {
  const text = errorText(e)
  if (text.includes('edgewatch: series state conflict') || /UNIQUE constraint failed: idempotency/.test(text))
    return new CommitConflictError(text.slice(0, 300))
  return e
}

/** D1 cannot bind infinities: the lowest safe integer stands for "since forever". */
const finite = (since: number) => Math.max(since, Number.MIN_SAFE_INTEGER)

export class SqlStore implements Store {
  readonly fleet: FleetStore
  readonly apps: AppStore
  readonly feed: FeedStore

  constructor(private readonly db: D1Database) {
    this.fleet = new SqlFleetStore(db)
    this.apps = new SqlAppStore(db)
    this.feed = new SqlFeedStore(db)
  }

  async loadStates(series: { deviceId: string; metric: string }[]): Promise<Map<string, SeriesState>> {
    const states = new Map<string, SeriesState>()
    for (const pairs of jsonChunks(series.map((s) => JSON.stringify([s.deviceId, s.metric])))) {
      for (const row of await this.all<SeriesRow>(SQL.loadStates, [pairs])) {
        states.set(seriesKey(row.device_id, row.metric), toSeriesState(row))
      }
    }
    return states
  }

  async findIdempotent(key: string, notBefore: number): Promise<IdempotentAnswer | undefined> {
    const row = await this.db
      .prepare(SQL.findIdempotent)
      .bind(key, notBefore)
      .first<{ key: string; status: number; response: string; body_hash: string | null }>()
    return row
      ? { key: row.key, status: row.status, response: row.response, bodyHash: row.body_hash }
      : undefined
  }

  async commitIngest(batch: IngestCommit): Promise<void> {
    const at = batch.receivedAt
    const keys = batch.idempotency.map((k) => JSON.stringify(k.key))
    const statements = [
      ...jsonChunks(keys).map((list) =>
        this.db.prepare(SQL.deleteExpiredKeys).bind(list, batch.idempotencyNotBefore),
      ),
      ...packChunks(batch.records).flatMap((slice) => [
        this.db.prepare(BUMP_RECORD_SEQ),
        ...this.inserts(INSERT_CHUNKS, slice, writeChunk, at),
      ]),
      ...this.inserts(INSERT_ANOMALIES, batch.anomalies, writeAnomaly, at),
      ...this.inserts(INSERT_WINDOWS, batch.windows, writeWindow, at),
      ...this.inserts(INSERT_DEAD_LETTERS, batch.deadLetters, writeDeadLetter, null),
      ...this.inserts(UPSERT_SERIES, batch.states, writeSeries, at),
      ...this.inserts(UPSERT_DEVICES, deviceDeltas(batch), writeDevice, at),
      ...this.inserts(INSERT_IDEMPOTENCY, batch.idempotency, writeIdempotency, at),
    ]
    if (statements.length === 0) return
    try {
      await this.db.batch(statements)
    } catch (e) {
      throw commitError(e)
    }
  }

  async listAnomalies(query: AnomalyQuery): Promise<Page<StoredAnomaly>> {
    checkLimit(query.limit)
    const after = query.cursor === undefined ? undefined : anomalyCursor.decode(query.cursor)
    const { sql, params } = listAnomaliesSql(query, after, query.limit + 1)
    return toPage((await this.all<AnomalyRow>(sql, params)).map(toAnomaly), query.limit, anomalyCursor.encode)
  }

  async listDevices(query: DeviceQuery): Promise<Page<DeviceSummary>> {
    checkLimit(query.limit)
    const after = query.cursor === undefined ? undefined : deviceCursor.decode(query.cursor)
    const { sql, params } = listDevicesSql(query, after, query.limit + 1, query.liveness)
    const rows = await this.all<DeviceRow>(sql, params)
    return toPage(rows.map(toDevice), query.limit, (d) => deviceCursor.encode(d.deviceId))
  }

  async getDevice(deviceId: string, liveness: Liveness): Promise<DeviceSummary | undefined> {
    const { sql, params } = getDeviceSql(deviceId, liveness)
    const [row] = await this.all<DeviceRow>(sql, params)
    return row ? toDevice(row) : undefined
  }

  async recentRecords(
    deviceId: string,
    metric: string,
    limit: number,
    since: number,
  ): Promise<StoredRecord[]> {
    checkLimit(limit)
    checkTime(since, 'since')
    return recentRecordsOf(this.fetchChunks, deviceId, metric, limit, finite(since))
  }

  async recentWindows(
    deviceId: string,
    metric: string,
    limit: number,
    since: number,
  ): Promise<WindowFeatureRow[]> {
    checkLimit(limit)
    checkTime(since, 'since')
    return (await this.all<WindowRow>(SQL.recentWindows, [deviceId, metric, finite(since), limit])).map(
      toWindow,
    )
  }

  exportRecords(query: ExportQuery): AsyncGenerator<StoredRecord> {
    return query.order === 'arrival'
      ? recordsInArrivalOrder(this.fetchChunks, query)
      : recordsInTimeOrder(this.fetchChunks, query)
  }

  async *exportWindows(query: ExportQuery): AsyncGenerator<WindowFeatureRow> {
    let after = { end: finite(query.since ?? Number.MIN_SAFE_INTEGER), rowid: -1 }
    for (;;) {
      const { sql, params } = exportWindowsSql(query, after, WINDOWS_PAGE)
      const rows = await this.all<WindowRow & { rowid: number }>(sql, params)
      for (const row of rows) yield toWindow(row)
      const last = rows[rows.length - 1]
      if (!last || rows.length < WINDOWS_PAGE) return
      after = { end: last.end, rowid: last.rowid }
    }
  }

  private readonly fetchChunks: FetchChunks = ({ sql, params }) => this.all<ChunkRow>(sql, params)

  async listDeadLetters(query: PageQuery): Promise<Page<StoredDeadLetter>> {
    checkLimit(query.limit)
    const rows =
      query.cursor === undefined
        ? await this.all<DeadLetterRow>(SQL.listDeadLetters, [query.limit + 1])
        : await this.all<DeadLetterRow>(SQL.listDeadLettersAfter, [
            deadLetterCursor.decode(query.cursor),
            query.limit + 1,
          ])
    return toPage(rows.map(toDeadLetter), query.limit, (d) => deadLetterCursor.encode(d.id))
  }

  /** In steps of PURGE_STEP_ROWS rows, each its own transaction, yielding to other work in between. */
  async purge(cutoffs: PurgeCutoffs): Promise<PurgeResult> {
    if ([cutoffs.before, cutoffs.idempotencyBefore, cutoffs.now].some(Number.isNaN))
      throw new RangeError('purge cutoff is NaN')
    const out: PurgeResult = {
      records: 0,
      anomalies: 0,
      windows: 0,
      deadLetters: 0,
      idempotency: 0,
      deviceEvents: 0,
      series: 0,
      devices: 0,
      expiredCredentials: 0,
    }
    for (const table of Object.keys(PURGED_TABLES) as (keyof typeof PURGED_TABLES)[]) {
      const cutoff = table === 'idempotency' ? cutoffs.idempotencyBefore : cutoffs.before
      const range = await this.db
        .prepare(purgeRangeSql(table))
        .bind(cutoff)
        .first<{ lo: number | null; hi: number | null }>()
      if (range?.lo == null || range.hi == null) continue
      // A chunk holds up to thousands of records: fewer of them per step.
      const step = table === 'records' ? PURGE_STEP_CHUNKS : PURGE_STEP_ROWS
      for (let lo = range.lo; lo < range.hi; lo += step) {
        const to = Math.min(lo + step, range.hi)
        const records =
          table === 'records'
            ? ((await this.db.prepare(PURGE_RECORD_COUNT).bind(lo, to).first<{ records: number }>())
                ?.records ?? 0)
            : 0
        const { changes } = (await this.db.prepare(purgeStepSql(table)).bind(lo, to).run()).meta
        out[table] += table === 'records' ? records : changes
        await pause()
      }
    }
    for (const table of ['series', 'devices'] as const) {
      for (;;) {
        const { changes } = (
          await this.db.prepare(PURGE_IDLE[table]).bind(cutoffs.before, PURGE_STEP_ROWS).run()
        ).meta
        out[table] += changes
        await pause()
        if (changes < PURGE_STEP_ROWS) break
      }
    }
    // Per-minute activity is only read for the last hour: it goes after two, whatever the retention
    // (not counted in the result, which reports what retention deleted).
    for (;;) {
      const { changes } = (
        await this.db
          .prepare(PURGE_ACTIVITY)
          .bind(cutoffs.now - ACTIVITY_KEPT_MS, PURGE_STEP_ROWS)
          .run()
      ).meta
      await pause()
      if (changes < PURGE_STEP_ROWS) break
    }
    for (const sql of PURGE_EXPIRED)
      out.expiredCredentials += (await this.db.prepare(sql).bind(cutoffs.now).run()).meta.changes
    return out
  }

  async ping(): Promise<void> {
    await this.db.prepare(SQL.ping).first()
  }

  async close(): Promise<void> {}

  private async all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (
      await this.db
        .prepare(sql)
        .bind(...params)
        .all<T>()
    ).results
  }

  /** One INSERT per JSON parameter of rows (see json-rows.ts). */
  private inserts<T, C>(
    spec: InsertSpec,
    items: readonly T[],
    write: RowWriter<T, C>,
    context: C,
  ): D1Statement[] {
    return jsonRowsInserts(this.db, spec, items, write, context)
  }
}
