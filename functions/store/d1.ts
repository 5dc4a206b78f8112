// The Store on Cloudflare D1. Same SQL as the SQLite adapter (sql.ts, schema.ts); an ingest commit
// is one db.batch(): one round trip, applied as a single transaction. D1 binds at most 100
// parameters per statement, so multi-row inserts carry floor(100 / columns) rows each.
import type {
  DeviceSummary,
  Page,
  SeriesState,
  StoredAnomaly,
  StoredDeadLetter,
  StoredRecord,
  WindowFeatureRow,
} from '../domain/types.js'
import { deviceDeltas } from './devices.js'
import {
  anomalyCursor,
  checkLimit,
  checkTime,
  deadLetterCursor,
  deviceCursor,
  EXPORT_PAGE_SIZE,
  toPage,
} from './paging.js'
import {
  type AnomalyQuery,
  type ExportQuery,
  type IngestCommit,
  type PageQuery,
  type PurgeResult,
  type Store,
  seriesKey,
} from './port.js'
import {
  type RowWriter,
  writeAnomaly,
  writeDeadLetter,
  writeDevice,
  writeRecord,
  writeSeries,
  writeWindow,
} from './row-writers.js'
import {
  type AnomalyRow,
  type DeadLetterRow,
  type DeviceRow,
  type RecordRow,
  type SeriesRow,
  toAnomaly,
  toDeadLetter,
  toDevice,
  toRecord,
  toSeriesState,
  toWindow,
  type WindowRow,
} from './rows.js'
import { CREATE_MIGRATIONS_TABLE, MIGRATIONS } from './schema.js'
import {
  exportRecordsSql,
  INSERT_ANOMALIES,
  INSERT_DEAD_LETTERS,
  INSERT_IDEMPOTENCY,
  INSERT_RECORDS,
  INSERT_WINDOWS,
  type InsertSpec,
  insertSql,
  listAnomaliesSql,
  PURGED_TABLES,
  purgeSql,
  recentRecordsSql,
  SQL,
  UPSERT_DEVICES,
  UPSERT_SERIES,
} from './sql.js'

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

const D1_MAX_PARAMS = 100

/** Applies pending migrations; each migration and its bookkeeping row go in one atomic batch. */
export async function migrateD1(db: D1Database): Promise<void> {
  await db.prepare(CREATE_MIGRATIONS_TABLE).run()
  const { results } = await db.prepare(SQL.appliedMigrations).all<{ version: number }>()
  const applied = new Set(results.map((r) => r.version))
  const known = new Set(MIGRATIONS.map((m) => m.version))
  const unknown = [...applied].filter((v) => !known.has(v))
  if (unknown.length > 0) throw new Error(`database has unknown schema versions ${unknown.join(', ')}`)
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue
    await db.batch([
      ...migration.statements.map((s) => db.prepare(s)),
      db.prepare(SQL.recordMigration).bind(migration.version, Date.now()),
    ])
  }
}

/** Opens the store, migrating first. */
export async function openD1Store(db: D1Database): Promise<Store> {
  await migrateD1(db)
  return new SqlStore(db)
}

/** D1 cannot bind infinities: the lowest safe integer stands for "since forever". */
const finite = (since: number) => Math.max(since, Number.MIN_SAFE_INTEGER)

/** The Store over any D1-shaped database: D1 itself, Spin's SQLite, and better-sqlite3's reads. */
export class SqlStore implements Store {
  constructor(private readonly db: D1Database) {}

  async loadStates(series: { deviceId: string; metric: string }[]): Promise<Map<string, SeriesState>> {
    const states = new Map<string, SeriesState>()
    if (series.length === 0) return states
    const pairs = JSON.stringify(series.map((s) => [s.deviceId, s.metric]))
    for (const row of await this.all<SeriesRow>(SQL.loadStates, [pairs])) {
      states.set(seriesKey(row.device_id, row.metric), toSeriesState(row))
    }
    return states
  }

  async findIdempotent(key: string): Promise<{ status: number; response: string } | undefined> {
    const row = await this.db
      .prepare(SQL.findIdempotent)
      .bind(key)
      .first<{ status: number; response: string }>()
    return row ? { status: row.status, response: row.response } : undefined
  }

  async commitIngest(batch: IngestCommit): Promise<void> {
    const at = batch.receivedAt
    const statements = [
      ...this.inserts(INSERT_RECORDS, batch.records, writeRecord, at),
      ...this.inserts(INSERT_ANOMALIES, batch.anomalies, writeAnomaly, at),
      ...this.inserts(INSERT_WINDOWS, batch.windows, writeWindow, at),
      ...this.inserts(INSERT_DEAD_LETTERS, batch.deadLetters, writeDeadLetter, null),
      ...this.inserts(UPSERT_SERIES, batch.states, writeSeries, at),
      ...this.inserts(UPSERT_DEVICES, deviceDeltas(batch), writeDevice, at),
      ...(batch.idempotency ?? []).map((k) =>
        this.db.prepare(insertSql(INSERT_IDEMPOTENCY, 1)).bind(k.key, k.status, k.response, at),
      ),
    ]
    if (statements.length > 0) await this.db.batch(statements)
  }

  async listAnomalies(query: AnomalyQuery): Promise<Page<StoredAnomaly>> {
    checkLimit(query.limit)
    const after = query.cursor === undefined ? undefined : anomalyCursor.decode(query.cursor)
    const { sql, params } = listAnomaliesSql(query, after, query.limit + 1)
    return toPage((await this.all<AnomalyRow>(sql, params)).map(toAnomaly), query.limit, anomalyCursor.encode)
  }

  async listDevices(query: PageQuery): Promise<Page<DeviceSummary>> {
    checkLimit(query.limit)
    const rows =
      query.cursor === undefined
        ? await this.all<DeviceRow>(SQL.listDevices, [query.limit + 1])
        : await this.all<DeviceRow>(SQL.listDevicesAfter, [
            deviceCursor.decode(query.cursor),
            query.limit + 1,
          ])
    return toPage(rows.map(toDevice), query.limit, (d) => deviceCursor.encode(d.deviceId))
  }

  async getDevice(deviceId: string): Promise<DeviceSummary | undefined> {
    const row = await this.db.prepare(SQL.getDevice).bind(deviceId).first<DeviceRow>()
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
    const { sql, params } = recentRecordsSql(deviceId, metric, limit, finite(since))
    return (await this.all<RecordRow>(sql, params)).map(toRecord)
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

  async *exportRecords(query: ExportQuery): AsyncGenerator<StoredRecord> {
    let after: { ts: number; id: number } | undefined
    for (;;) {
      const { sql, params } = exportRecordsSql(query, after, EXPORT_PAGE_SIZE)
      const rows = await this.all<RecordRow>(sql, params)
      for (const row of rows) yield toRecord(row)
      const last = rows[rows.length - 1]
      if (!last || rows.length < EXPORT_PAGE_SIZE) return
      after = { ts: last.ts, id: last.id }
    }
  }

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

  async purge(ingestedBefore: number): Promise<PurgeResult> {
    if (Number.isNaN(ingestedBefore)) throw new RangeError('purge cutoff is NaN')
    const tables = Object.keys(PURGED_TABLES) as (keyof PurgeResult)[]
    const results = await this.db.batch(tables.map((t) => this.db.prepare(purgeSql(t)).bind(ingestedBefore)))
    const out = {} as PurgeResult
    tables.forEach((t, i) => {
      out[t] = results[i]!.meta.changes
    })
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

  /** Multi-row INSERTs of at most D1_MAX_PARAMS parameters each. */
  private inserts<T, C>(
    spec: InsertSpec,
    items: readonly T[],
    write: RowWriter<T, C>,
    context: C,
  ): D1Statement[] {
    const width = spec.columns.length
    const perStatement = Math.floor(D1_MAX_PARAMS / width)
    const out: D1Statement[] = []
    for (let start = 0; start < items.length; start += perStatement) {
      const rows = Math.min(perStatement, items.length - start)
      const params = new Array<unknown>(rows * width)
      for (let i = 0; i < rows; i++) write(items[start + i]!, params, i * width, context)
      out.push(this.db.prepare(insertSql(spec, rows)).bind(...params))
    }
    return out
  }
}
