// The Store on a local SQLite file through better-sqlite3 (synchronous; each method resolves
// once its statement ran), with the ingest commit on a writer thread (sqlite-writer.ts) for a file.
// All SQL comes from sql.ts and schema.ts.
import Database from 'better-sqlite3'
import { BulkInsert } from './bulk.js'
import { packChunks } from './chunks.js'
import { deviceDeltas } from './devices.js'
import type { IngestCommit, Store } from './port.js'
import {
  writeAnomaly,
  writeChunk,
  writeDeadLetter,
  writeDevice,
  writeIdempotency,
  writeSeries,
  writeWindow,
} from './row-writers.js'
import { CREATE_MIGRATIONS_TABLE, MIGRATIONS } from './schema.js'
import {
  BUMP_RECORD_SEQ,
  INSERT_ANOMALIES,
  INSERT_CHUNKS,
  INSERT_DEAD_LETTERS,
  INSERT_IDEMPOTENCY,
  INSERT_WINDOWS,
  SQL,
  UPSERT_DEVICES,
  UPSERT_SERIES,
} from './sql.js'
import { commitError, type D1Database, type D1Statement, SqlStore } from './sql-store.js'
import { type SqliteWriter, startSqliteWriter, type WriterStatement } from './sqlite-writer.js'

export interface SqliteOptions {
  /** `full` (default): a resolved commit survives power loss. `normal`: it survives a crash only. */
  synchronous?: 'full' | 'normal'
  /**
   * Commit ingest on a writer thread (default for a file; never for `:memory:`, which another
   * connection cannot open): the event loop keeps reading and parsing requests while SQLite commits.
   */
  writerThread?: boolean
}

export function openSqliteStore(path: string, options: SqliteOptions = {}): Store {
  // Several processes may open one new file at once: switching it to WAL can then find it locked
  // without waiting (SQLite does not always call the busy handler there), so that step is retried.
  for (let attempt = 1; ; attempt++) {
    const db = new Database(path)
    try {
      db.pragma('busy_timeout = 5000')
      db.pragma('journal_mode = WAL')
      db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`)
      migrate(db)
      const threaded = (options.writerThread ?? true) && path !== ':memory:' && path !== ''
      return new SqliteStore(db, threaded ? startSqliteWriter(path, options.synchronous ?? 'full') : null)
    } catch (error) {
      db.close()
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || attempt >= 20 || path === ':memory:')
        throw error
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 + Math.random() * 80)
    }
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

/**
 * Reads go through the shared SqlStore (the same code as D1 and Spin); the ingest commit keeps its
 * fast path: multi-row statements planned once, run in one IMMEDIATE transaction on the writer
 * thread (or, without one, here; each statement text prepared once per connection). Several
 * processes may share the file: the series version triggers make a stale writer's commit fail with
 * CommitConflictError, and the ingest path reloads and analyses again.
 */
class SqliteStore extends SqlStore {
  readonly #db: Database.Database
  readonly #writer: SqliteWriter | null
  /** A commit's statements, planned on the event loop: the same whichever thread runs them. */
  readonly #plan: (batch: IngestCommit) => WriterStatement[]
  /** Runs planned statements here, in one transaction (no writer thread). */
  readonly #runHere: Database.Transaction<(statements: WriterStatement[]) => void>

  constructor(db: Database.Database, writer: SqliteWriter | null) {
    super(sqliteAsD1(db))
    this.#db = db
    this.#writer = writer
    const chunks = new BulkInsert(INSERT_CHUNKS, writeChunk)
    const anomalies = new BulkInsert(INSERT_ANOMALIES, writeAnomaly)
    const windows = new BulkInsert(INSERT_WINDOWS, writeWindow)
    const deadLetters = new BulkInsert(INSERT_DEAD_LETTERS, writeDeadLetter)
    const series = new BulkInsert(UPSERT_SERIES, writeSeries)
    const devices = new BulkInsert(UPSERT_DEVICES, writeDevice)
    const idempotency = new BulkInsert(INSERT_IDEMPOTENCY, writeIdempotency)
    this.#plan = (batch) => {
      const at = batch.receivedAt
      const out: WriterStatement[] = []
      if (batch.idempotency.length > 0) {
        out.push({
          sql: SQL.deleteExpiredKeys,
          params: [JSON.stringify(batch.idempotency.map((k) => k.key)), batch.idempotencyNotBefore],
        })
      }
      for (const slice of packChunks(batch.records)) {
        out.push({ sql: BUMP_RECORD_SEQ, params: [] })
        chunks.plan(slice, at, out)
      }
      anomalies.plan(batch.anomalies, at, out)
      windows.plan(batch.windows, at, out)
      deadLetters.plan(batch.deadLetters, null, out)
      series.plan(batch.states, at, out)
      devices.plan(deviceDeltas(batch), at, out)
      idempotency.plan(batch.idempotency, at, out)
      return out
    }
    const prepared = new Map<string, Database.Statement>()
    this.#runHere = db.transaction((statements: WriterStatement[]) => {
      for (const s of statements) {
        let statement = prepared.get(s.sql)
        if (!statement) {
          statement = db.prepare(s.sql)
          prepared.set(s.sql, statement)
        }
        statement.run(s.params)
      }
    })
  }

  override async commitIngest(batch: IngestCommit): Promise<void> {
    // IMMEDIATE takes the write lock up front, so a concurrent writer waits instead of failing.
    try {
      const statements = this.#plan(batch)
      if (this.#writer) await this.#writer.run(statements)
      else this.#runHere.immediate(statements)
    } catch (e) {
      throw commitError(e)
    }
  }

  override async close(): Promise<void> {
    await this.#writer?.close()
    this.#db.close()
  }
}

/** better-sqlite3 behind the D1-shaped API; prepared statements are cached by SQL text. */
export function sqliteAsD1(db: Database.Database): D1Database {
  const prepared = new Map<string, Database.Statement>()
  const prepare = (sql: string) => {
    let statement = prepared.get(sql)
    if (!statement) {
      statement = db.prepare(sql)
      prepared.set(sql, statement)
    }
    return statement
  }
  const bound = new WeakMap<D1Statement, { sql: string; params: unknown[] }>()
  const statement = (sql: string, params: unknown[]): D1Statement => {
    const s: D1Statement = {
      bind: (...values) => statement(sql, values),
      all: async <T>() => ({ results: prepare(sql).all(...params) as T[] }),
      first: async <T>() => (prepare(sql).get(...params) as T | undefined) ?? null,
      run: async () => ({ meta: { changes: prepare(sql).run(...params).changes } }),
    }
    bound.set(s, { sql, params })
    return s
  }
  return {
    prepare: (sql) => statement(sql, []),
    batch: async (statements) =>
      db
        .transaction(() =>
          statements.map((s) => {
            const { sql, params } = bound.get(s)!
            return { meta: { changes: prepare(sql).run(...params).changes } }
          }),
        )
        .immediate(),
    exec: async (sql) => db.exec(sql),
  }
}
