// Multi-row INSERTs: rows go out in chunks of MAX_ROWS_PER_INSERT, each chunk a statement text
// (made once per chunk size) with its own parameter array, to run on whichever connection commits
// (the SQLite store's writer thread, or the event loop).
import type { RowWriter } from './row-writers.js'
import { type InsertSpec, insertSql, MAX_ROWS_PER_INSERT } from './sql.js'

export class BulkInsert<T, C> {
  readonly #spec: InsertSpec
  readonly #write: RowWriter<T, C>
  readonly #texts = new Map<number, string>()

  constructor(spec: InsertSpec, write: RowWriter<T, C>) {
    this.#spec = spec
    this.#write = write
  }

  /** Appends the rows' statements to `into`. */
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
}
