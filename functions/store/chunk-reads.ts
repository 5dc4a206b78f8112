// Reading records out of chunks (chunks.ts) in the orders the API promises, page by page, with
// memory bounded by what overlaps the read position, whatever the table holds. The SQL is in sql.ts;
// `fetch` runs one statement, so the same code serves SQLite, D1 and Spin.
import type { StoredRecord } from '../domain/types.js'
import { byTime, CHUNK_SPAN_MS, type ChunkRow, unpackChunk } from './chunks.js'
import type { ExportQuery } from './port.js'
import type { BoundSql } from './sql.js'
import { chunksByArrivalSql, chunksByTimeSql, chunksNewestFirstSql } from './sql.js'

export type FetchChunks = (sql: BoundSql) => Promise<ChunkRow[]>

/** Records per page the chunk page size adapts to (chunks hold from one record to thousands). */
const PAGE_RECORDS = 2000
const MIN_CHUNKS = 16
const MAX_CHUNKS = 1024

/** Chunks for the next page, so that a page holds about PAGE_RECORDS records. */
function nextPageSize(chunks: number, records: number): number {
  const scaled = Math.round((chunks * PAGE_RECORDS) / Math.max(1, records))
  return Math.min(MAX_CHUNKS, Math.max(MIN_CHUNKS, scaled))
}

const inRange = (r: StoredRecord, q: ExportQuery): boolean =>
  (q.since === undefined || r.ts >= q.since) && (q.until === undefined || r.ts < q.until)

/**
 * In time order (ts, then id). Chunks come in ts_min order; a record can go out once every chunk
 * not yet read starts after it (its ts is below the last chunk's ts_min), so what is held is the
 * records of the chunks that overlap the read position.
 */
export async function* recordsInTimeOrder(fetch: FetchChunks, q: ExportQuery): AsyncGenerator<StoredRecord> {
  // A chunk spans less than CHUNK_SPAN_MS: one that holds a record at or after `since` starts after this.
  let after = { tsMin: q.since === undefined ? Number.MIN_SAFE_INTEGER : q.since - CHUNK_SPAN_MS, id: 0 }
  let held: StoredRecord[] = []
  let limit = MIN_CHUNKS
  for (;;) {
    const rows = await fetch(chunksByTimeSql(q, after, limit))
    let read = 0
    for (const row of rows) {
      for (const r of unpackChunk(row)) {
        read++
        if (inRange(r, q)) held.push(r)
      }
    }
    const last = rows[rows.length - 1]
    const done = rows.length < limit
    let ready = held
    if (!done && last) {
      ready = held.filter((r) => r.ts < last.ts_min)
      held = held.filter((r) => r.ts >= last.ts_min)
      after = { tsMin: last.ts_min, id: last.id }
    }
    ready.sort(byTime)
    yield* ready
    if (done) return
    limit = nextPageSize(rows.length, read)
  }
}

/**
 * In arrival order (id). Chunks come in the order they were stored, and the chunks of one commit
 * are stored together, so a commit's records go out, sorted by position, once a later commit's
 * chunk arrives.
 */
export async function* recordsInArrivalOrder(
  fetch: FetchChunks,
  q: ExportQuery,
): AsyncGenerator<StoredRecord> {
  let afterId = 0
  let commit: StoredRecord[] = []
  let seq = Number.NaN
  let limit = MIN_CHUNKS
  for (;;) {
    const rows = await fetch(chunksByArrivalSql(q, afterId, limit))
    let read = 0
    for (const row of rows) {
      if (row.commit_seq !== seq) {
        yield* commit.sort(byId)
        commit = []
        seq = row.commit_seq
      }
      for (const r of unpackChunk(row)) {
        read++
        if (inRange(r, q)) commit.push(r)
      }
    }
    if (rows.length < limit) {
      yield* commit.sort(byId)
      return
    }
    afterId = rows[rows.length - 1]!.id
    limit = nextPageSize(rows.length, read)
  }
}

const byId = (a: StoredRecord, b: StoredRecord): number => a.id - b.id

/**
 * The newest `limit` records of a device at or after `since` that carry the metric as a number,
 * top-level or under `metrics`; newest first (ts, then id). Chunks come newest ts_min first, and
 * reading stops once no chunk left can hold a record newer than the limit-th found.
 */
export async function recentRecordsOf(
  fetch: FetchChunks,
  deviceId: string,
  metric: string,
  limit: number,
  since: number,
): Promise<StoredRecord[]> {
  let found: StoredRecord[] = []
  let before = { tsMin: Number.MAX_SAFE_INTEGER, id: Number.MAX_SAFE_INTEGER }
  let pageSize = MIN_CHUNKS
  for (;;) {
    const rows = await fetch(chunksNewestFirstSql(deviceId, since, before, pageSize))
    let read = 0
    for (const row of rows) {
      for (const r of unpackChunk(row)) {
        read++
        if (r.ts >= since && carries(r.body, metric)) found.push(r)
      }
    }
    found.sort((a, b) => b.ts - a.ts || b.id - a.id)
    if (found.length > limit) found = found.slice(0, limit)
    const last = rows[rows.length - 1]
    if (rows.length < pageSize || !last) return found
    // Chunks not read start at or before last.ts_min, so they hold nothing at or after this.
    if (found.length === limit && found[limit - 1]!.ts >= last.ts_min + CHUNK_SPAN_MS) return found
    before = { tsMin: last.ts_min, id: last.id }
    pageSize = nextPageSize(rows.length, read)
  }
}

/** Whether a record's body holds the metric as a number, top-level or under a `metrics` object. */
function carries(body: string, metric: string): boolean {
  // A cheap test first: a body without escapes holds the name as written, if at all.
  if (!body.includes('\\') && !body.includes(metric)) return false
  const value = JSON.parse(body) as Record<string, unknown>
  if (Object.hasOwn(value, metric) && typeof value[metric] === 'number') return true
  const nested = value.metrics
  return (
    typeof nested === 'object' &&
    nested !== null &&
    !Array.isArray(nested) &&
    Object.hasOwn(nested, metric) &&
    typeof (nested as Record<string, unknown>)[metric] === 'number'
  )
}
