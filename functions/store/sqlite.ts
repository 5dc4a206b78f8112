// The Store on a local SQLite file through better-sqlite3 (synchronous; each method resolves
// once its statement ran). All SQL comes from sql.ts and schema.ts.
import Database from 'better-sqlite3'
import type {
  DeviceSummary,
  Page,
  SeriesState,
  StoredAnomaly,
  StoredDeadLetter,
  StoredRecord,
  WindowFeatureRow,
} from '../domain/types.js'
import { BulkInsert } from './bulk.js'
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
  insertSql,
  listAnomaliesSql,
  PURGED_TABLES,
  purgeSql,
  recentRecordsSql,
  SQL,
  UPSERT_DEVICES,
  UPSERT_SERIES,
} from './sql.js'

export interface SqliteOptions {
  /** `full` (default): a resolved commit survives power loss. `normal`: it survives a crash only. */
  synchronous?: 'full' | 'normal'
}

export function openSqliteStore(path: string, options: SqliteOptions = {}): Store {
  const db = new Database(path)
  try {
    db.pragma('busy_timeout = 5000')
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`)
    migrate(db)
    return new SqliteStore(db)
  } catch (error) {
    db.close()
    throw error
  }
}

/**
 * Applies the migrations not yet recorded in schema_migrations, all in one write transaction.
 * Refuses a file migrated by a newer build, whose schema this code does not know.
 */
export function migrate(db: Database.Database): void {
  db.exec(CREATE_MIGRATIONS_TABLE)
  db.transaction(() => {
    const applied = new Set(db.prepare(SQL.appliedMigrations).pluck().all() as number[])
    const known = new Set(MIGRATIONS.map((m) => m.version))
    const unknown = [...applied].filter((v) => !known.has(v))
    if (unknown.length > 0) throw new Error(`database has unknown schema versions ${unknown.join(', ')}`)
    const record = db.prepare(SQL.recordMigration)
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue
      for (const statement of migration.statements) db.exec(statement)
      record.run(migration.version, Date.now())
    }
  }).immediate()
}

class SqliteStore implements Store {
  readonly #db: Database.Database
  /** Prepared statements by SQL text; the dynamic SQL has only a few dozen variants. */
  readonly #statements = new Map<string, Database.Statement>()
  readonly #commit: Database.Transaction<(batch: IngestCommit) => void>

  constructor(db: Database.Database) {
    this.#db = db
    const records = new BulkInsert(db, INSERT_RECORDS, writeRecord)
    const anomalies = new BulkInsert(db, INSERT_ANOMALIES, writeAnomaly)
    const windows = new BulkInsert(db, INSERT_WINDOWS, writeWindow)
    const deadLetters = new BulkInsert(db, INSERT_DEAD_LETTERS, writeDeadLetter)
    const series = new BulkInsert(db, UPSERT_SERIES, writeSeries)
    const devices = new BulkInsert(db, UPSERT_DEVICES, writeDevice)
    const idempotency = db.prepare(insertSql(INSERT_IDEMPOTENCY, 1))

    this.#commit = db.transaction((batch: IngestCommit) => {
      const at = batch.receivedAt
      records.run(batch.records, at)
      anomalies.run(batch.anomalies, at)
      windows.run(batch.windows, at)
      deadLetters.run(batch.deadLetters, null)
      series.run(batch.states, at)
      devices.run(deviceDeltas(batch), at)
      for (const k of batch.idempotency ?? []) idempotency.run(k.key, k.status, k.response, at)
    })
  }

  async loadStates(series: { deviceId: string; metric: string }[]): Promise<Map<string, SeriesState>> {
    const states = new Map<string, SeriesState>()
    if (series.length === 0) return states
    const pairs = JSON.stringify(series.map((s) => [s.deviceId, s.metric]))
    for (const row of this.#all<SeriesRow>(SQL.loadStates, [pairs])) {
      states.set(seriesKey(row.device_id, row.metric), toSeriesState(row))
    }
    return states
  }

  async findIdempotent(key: string): Promise<{ status: number; response: string } | undefined> {
    const row = this.#prepare(SQL.findIdempotent).get(key) as { status: number; response: string } | undefined
    return row && { status: row.status, response: row.response }
  }

  async commitIngest(batch: IngestCommit): Promise<void> {
    // IMMEDIATE takes the write lock up front, so a concurrent writer waits instead of failing.
    this.#commit.immediate(batch)
  }

  async listAnomalies(query: AnomalyQuery): Promise<Page<StoredAnomaly>> {
    checkLimit(query.limit)
    const after = query.cursor === undefined ? undefined : anomalyCursor.decode(query.cursor)
    const { sql, params } = listAnomaliesSql(query, after, query.limit + 1)
    return toPage(this.#all<AnomalyRow>(sql, params).map(toAnomaly), query.limit, anomalyCursor.encode)
  }

  async listDevices(query: PageQuery): Promise<Page<DeviceSummary>> {
    checkLimit(query.limit)
    const rows =
      query.cursor === undefined
        ? this.#all<DeviceRow>(SQL.listDevices, [query.limit + 1])
        : this.#all<DeviceRow>(SQL.listDevicesAfter, [deviceCursor.decode(query.cursor), query.limit + 1])
    return toPage(rows.map(toDevice), query.limit, (d) => deviceCursor.encode(d.deviceId))
  }

  async getDevice(deviceId: string): Promise<DeviceSummary | undefined> {
    const row = this.#prepare(SQL.getDevice).get(deviceId) as DeviceRow | undefined
    return row && toDevice(row)
  }

  async recentRecords(
    deviceId: string,
    metric: string,
    limit: number,
    since: number,
  ): Promise<StoredRecord[]> {
    checkLimit(limit)
    checkTime(since, 'since')
    const { sql, params } = recentRecordsSql(deviceId, metric, limit, since)
    return this.#all<RecordRow>(sql, params).map(toRecord)
  }

  async recentWindows(
    deviceId: string,
    metric: string,
    limit: number,
    since: number,
  ): Promise<WindowFeatureRow[]> {
    checkLimit(limit)
    checkTime(since, 'since')
    return this.#all<WindowRow>(SQL.recentWindows, [deviceId, metric, since, limit]).map(toWindow)
  }

  /** Keyset pages: no read stays open between pages, so writes may interleave with iteration. */
  async *exportRecords(query: ExportQuery): AsyncGenerator<StoredRecord> {
    let after: { ts: number; id: number } | undefined
    for (;;) {
      const { sql, params } = exportRecordsSql(query, after, EXPORT_PAGE_SIZE)
      const rows = this.#all<RecordRow>(sql, params)
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
        ? this.#all<DeadLetterRow>(SQL.listDeadLetters, [query.limit + 1])
        : this.#all<DeadLetterRow>(SQL.listDeadLettersAfter, [
            deadLetterCursor.decode(query.cursor),
            query.limit + 1,
          ])
    return toPage(rows.map(toDeadLetter), query.limit, (d) => deadLetterCursor.encode(d.id))
  }

  async purge(ingestedBefore: number): Promise<PurgeResult> {
    // NaN would bind as NULL, match no row to keep, and so delete everything.
    if (Number.isNaN(ingestedBefore)) throw new RangeError('purge cutoff is NaN')
    return this.#db
      .transaction(() => {
        const result = {} as PurgeResult
        for (const table of Object.keys(PURGED_TABLES) as (keyof PurgeResult)[]) {
          result[table] = this.#prepare(purgeSql(table)).run(ingestedBefore).changes
        }
        return result
      })
      .immediate()
  }

  async ping(): Promise<void> {
    this.#prepare(SQL.ping).get()
  }

  async close(): Promise<void> {
    this.#db.close()
  }

  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql)
    if (!statement) {
      statement = this.#db.prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  #all<R>(sql: string, params: unknown[]): R[] {
    return this.#prepare(sql).all(...params) as R[]
  }
}
