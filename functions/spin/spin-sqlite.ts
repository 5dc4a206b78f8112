// The Store on Spin's SQLite interface (fermyon:spin/sqlite@2.0.0). Spin's connection runs one
// statement per call, so this adapter presents it as the small D1-shaped API that d1.ts is written
// against and reuses that adapter whole: the same SQL (sql.ts, schema.ts), the same row writers and
// readers, the same migrations. A batch (an ingest commit, a purge) is BEGIN … COMMIT on the
// connection, rolled back when a statement fails.

import type { Store } from '../store/port.js'
import { type D1Database, type D1Statement, migrateD1, openD1Store } from '../store/sql-store.js'

/** The parts of `fermyon:spin/sqlite@2.0.0` used here (structural, so tests can pass their own). */
export type SqlValue =
  | { tag: 'integer'; val: bigint }
  | { tag: 'real'; val: number }
  | { tag: 'text'; val: string }
  | { tag: 'blob'; val: Uint8Array }
  | { tag: 'null' }
export interface SpinConnection {
  execute(statement: string, parameters: SqlValue[]): { columns: string[]; rows: { values: SqlValue[] }[] }
}

/** Opens the store, applying pending migrations first (idempotent: applied ones are skipped). */
export function openSpinSqliteStore(connection: SpinConnection): Promise<Store> {
  return openD1Store(spinAsD1(connection))
}

export function migrateSpinSqlite(connection: SpinConnection): Promise<void> {
  return migrateD1(spinAsD1(connection))
}

export function spinAsD1(connection: SpinConnection): D1Database {
  const exec = (sql: string, params: unknown[]) => connection.execute(sql, params.map(toValue))
  const changes = () => Number(fromValue(exec('SELECT changes()', []).rows[0]!.values[0]!))
  const statement = (sql: string, params: unknown[] = []): SpinStatement => ({
    sql,
    params,
    bind: (...values: unknown[]) => statement(sql, values),
    all: async <T>() => ({ results: toObjects<T>(exec(sql, params)) }),
    first: async <T>() => toObjects<T>(exec(sql, params))[0] ?? null,
    run: async () => {
      exec(sql, params)
      return { meta: { changes: changes() } }
    },
  })
  return {
    prepare: (sql) => statement(sql),
    exec: async (sql) => exec(sql, []),
    batch: async (statements) => {
      exec('BEGIN IMMEDIATE', [])
      try {
        const out = statements.map((s) => {
          const { sql, params } = s as SpinStatement
          exec(sql, params)
          return { meta: { changes: changes() } }
        })
        exec('COMMIT', [])
        return out
      } catch (e) {
        try {
          exec('ROLLBACK', [])
        } catch {}
        throw e
      }
    },
  }
}

interface SpinStatement extends D1Statement {
  sql: string
  params: unknown[]
}

function toValue(v: unknown): SqlValue {
  if (v === null || v === undefined) return { tag: 'null' }
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return { tag: 'null' }
    if (Number.isSafeInteger(v) && !Object.is(v, -0)) return { tag: 'integer', val: BigInt(v) }
    return { tag: 'real', val: v }
  }
  if (typeof v === 'bigint') return { tag: 'integer', val: v }
  if (typeof v === 'boolean') return { tag: 'integer', val: v ? 1n : 0n }
  if (typeof v === 'string') return { tag: 'text', val: v }
  // Byte arrays from the kernel component may not be this realm's Uint8Array: test the shape.
  if (ArrayBuffer.isView(v)) return { tag: 'blob', val: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) }
  if (v instanceof ArrayBuffer) return { tag: 'blob', val: new Uint8Array(v) }
  if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b < 256))
    return { tag: 'blob', val: Uint8Array.from(v as number[]) }
  throw new TypeError(`cannot bind a ${Object.prototype.toString.call(v)} to SQL`)
}

function fromValue(v: SqlValue): unknown {
  switch (v.tag) {
    case 'integer':
      return Number(v.val)
    case 'null':
      return null
    default:
      return v.val
  }
}

function toObjects<T>(result: { columns: string[]; rows: { values: SqlValue[] }[] }): T[] {
  return result.rows.map((row) => {
    const out: Record<string, unknown> = {}
    result.columns.forEach((c, i) => {
      out[c] = fromValue(row.values[i]!)
    })
    return out as T
  })
}
