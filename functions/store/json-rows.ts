// Rows as JSON parameters: however many rows a write has, one statement binds one parameter of at
// most ~2 MB (a JSON array of rows), so a large commit stays within D1's limits: 100 parameters per
// statement, 2 MB per value, and a bounded number of statements per request.
import type { RowWriter } from './row-writers.js'
import { type InsertSpec, jsonInsertSql } from './sql.js'
import type { D1Database, D1Statement } from './sql-store.js'

/** Bytes of JSON per parameter: under D1's 2,000,000-byte cap on a value. */
const JSON_PARAM_BYTES = 1_900_000

/** One INSERT per JSON parameter of rows (see jsonInsertSql), each row written by `write`. */
export function jsonRowsInserts<T, C>(
  db: D1Database,
  spec: InsertSpec,
  items: readonly T[],
  write: RowWriter<T, C>,
  context?: C,
): D1Statement[] {
  if (items.length === 0) return []
  const row = new Array<unknown>(spec.columns.length)
  const blobs = spec.columns.map((c) => spec.blobColumns?.includes(c) ?? false)
  const rows = items.map((item) => {
    write(item, row, 0, context as C)
    return rowJson(row, blobs)
  })
  const sql = jsonInsertSql(spec)
  return jsonChunks(rows).map((json) => db.prepare(sql).bind(json))
}

/** JSON array texts of the items (each already JSON), each at most JSON_PARAM_BYTES of UTF-8. */
export function jsonChunks(items: string[]): string[] {
  const chunks: string[] = []
  let parts: string[] = []
  let bytes = 2
  for (const item of items) {
    const size = utf8Length(item) + 1
    if (parts.length > 0 && bytes + size > JSON_PARAM_BYTES) {
      chunks.push(`[${parts.join(',')}]`)
      parts = []
      bytes = 2
    }
    parts.push(item)
    bytes += size
  }
  if (parts.length > 0) chunks.push(`[${parts.join(',')}]`)
  return chunks
}

/**
 * A row as a JSON array. JSON has no infinities: SQLite reads 9e999 as one; NaN becomes null,
 * which is how SQLite stores NaN anyway. Blobs travel as hex (unhex() in the SQL).
 */
function rowJson(values: unknown[], blobs: boolean[]): string {
  let out = '['
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (i > 0) out += ','
    // Byte arrays from the Spin kernel component are not this realm's Uint8Array: test the shape.
    if (blobs[i] && ArrayBuffer.isView(v))
      out += `"${hex(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))}"`
    else if (typeof v === 'number' && !Number.isFinite(v))
      out += Number.isNaN(v) ? 'null' : v > 0 ? '9e999' : '-9e999'
    else out += v === undefined ? 'null' : JSON.stringify(v)
  }
  return out + ']'
}

function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    // A surrogate pair is 4 bytes: 2 for each half.
    n += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3
  }
  return n
}

/** Bytes as lowercase hex: how blobs travel into SQL (unhex()). */
export function hex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}
