// Multi-row INSERTs for better-sqlite3: rows go out in chunks of MAX_ROWS_PER_INSERT through
// statements prepared once per chunk size, with parameter arrays reused between calls; or, for the
// writer thread, as statement texts with parameter arrays of their own (`plan`).
import type Database from 'better-sqlite3'
import type { RowWriter } from './row-writers.js'
import { type InsertSpec, insertSql, MAX_ROWS_PER_INSERT } from './sql.js'

export class BulkInsert<T, C> {
  readonly #db: Database.Database
  readonly #spec: InsertSpec
  readonly #write: RowWriter<T, C>
  readonly #chunks = new Map<number, { statement: Database.Statement; params: unknown[] }>()
  readonly #texts = new Map<number, string>()

  constructor(db: Database.Database, spec: InsertSpec, write: RowWriter<T, C>) {
    this.#db = db
    this.#spec = spec
    this.#write = write
  }

  run(items: readonly T[], context: C): void {
    const width = this.#spec.columns.length
    for (let start = 0; start < items.length; start += MAX_ROWS_PER_INSERT) {
      const rows = Math.min(MAX_ROWS_PER_INSERT, items.length - start)
      const { statement, params } = this.#chunk(rows)
      for (let i = 0; i < rows; i++) this.#write(items[start + i]!, params, i * width, context)
      statement.run(params)
    }
  }

  /** The same rows as statements with their own parameter arrays, to run elsewhere (the writer thread). */
  plan(items: readonly T[], context: C, into: { sql: string; params: unknown[] }[]): void {
    const width = this.#spec.columns.length
    for (let start = 0; start < items.length; start += MAX_ROWS_PER_INSERT) {
      const rows = Math.min(MAX_ROWS_PER_INSERT, items.length - start)
      const params = new Array<unknown>(rows * width)
      for (let i = 0; i < rows; i++) this.#write(items[start + i]!, params, i * width, context)
      into.push({ sql: this.#sql(rows), params })
    }
  }

  #sql(rows: number): string {
    let sql = this.#texts.get(rows)
    if (!sql) {
      sql = insertSql(this.#spec, rows)
      this.#texts.set(rows, sql)
    }
    return sql
  }

  #chunk(rows: number) {
    let chunk = this.#chunks.get(rows)
    if (!chunk) {
      const params = new Array<unknown>(rows * this.#spec.columns.length)
      chunk = { statement: this.#db.prepare(insertSql(this.#spec, rows)), params }
      this.#chunks.set(rows, chunk)
    }
    return chunk
  }
}
