// Records are stored in chunks, as time-series databases store them: one row per device, commit and
// hour of record time, holding that chunk's records as columns (positions, times, levels, scores,
// kinds) and their bodies, in one text (chunkData). A commit of 20,000 records from 40 devices writes about 40 rows
// and 80 index entries instead of 20,000 and 20,000 (measured: its SQLite work 3x smaller), and the
// chunk's time range and device are what the indexes hold. The same format on SQLite, D1 and Spin.
//
// A record's id, which orders records that share a timestamp and gives the arrival order, is
// `commit_seq * 65536 + position`: commit_seq numbers the commit (record_seq, bumped once per
// 65,536 records) and position is the record's place in it. Ids therefore follow the order records
// were committed in, across the devices of a commit, exactly as the one-row-per-record layout's
// rowids did (the migration to chunks keeps those ids: see schema.ts, migration 6).
import type { Level, StoredRecord } from '../domain/types.js'
import type { IngestCommit } from './port.js'
import { joinKinds, splitKinds } from './rows.js'

type Entry = IngestCommit['records'][number]

/** A chunk never spans more than an hour of record time, so a time range is found by ts_min alone. */
export const CHUNK_SPAN_MS = 3_600_000
/** Characters of bodies per chunk (a record of up to 64 KiB always fits alone): D1 takes values up to 2 MB. */
export const CHUNK_MAX_CHARS = 256 * 1024
/** Records per commit sequence number: positions take the low 16 bits of an id. */
export const POSITIONS = 65_536

/** One chunk about to be stored; its commit_seq and ingested_at are the commit's. */
export interface Chunk {
  deviceId: string
  tsMin: number
  tsMax: number
  count: number
  /** The columns (see chunkData). */
  data: string
}

/** A chunk as read back. */
export interface ChunkRow {
  id: number
  device_id: string
  ts_min: number
  commit_seq: number
  ingested_at: number
  data: string
}

interface Columns {
  pos: number[]
  ts: number[]
  level: (string | null)[]
  score: number[]
  kinds: string[]
}

/**
 * A chunk's text: the columns as one JSON object, then a newline and the records' bodies, one per
 * line, as received. Bodies are JSON texts without raw newlines (NDJSON lines, or serialised), so
 * they need no escaping on the way in nor unescaping on the way out (measured: escaping them took
 * about 4% of the event loop under load). Should a body hold a newline, the chunk keeps its bodies
 * as a JSON array of strings inside the object (`"body":[...]`) and nothing after it.
 */
function chunkData(columns: Columns, bodies: string[]): string {
  if (bodies.some((b) => b.includes('\n'))) return JSON.stringify({ ...columns, body: bodies })
  return JSON.stringify(columns) + '\n' + bodies.join('\n')
}

/** Which hour of record time a timestamp falls in. */
export const blockOf = (ts: number): number => Math.floor(ts / CHUNK_SPAN_MS)

/**
 * A commit's records as chunks, in slices of at most POSITIONS records (each slice takes the next
 * commit sequence number). Within a slice: one chunk per device and hour, cut at CHUNK_MAX_CHARS,
 * in the order their first records arrived.
 */
export function packChunks(records: readonly Entry[]): Chunk[][] {
  const slices: Chunk[][] = []
  for (let start = 0; start < records.length; start += POSITIONS) {
    const end = Math.min(records.length, start + POSITIONS)
    const open = new Map<string, Builder>()
    const built: Builder[] = []
    for (let i = start; i < end; i++) {
      const e = records[i]!
      const r = e.record
      const key = r.deviceId + '\u0000' + blockOf(r.ts)
      let b = open.get(key)
      if (!b || b.chars + r.body.length > CHUNK_MAX_CHARS) {
        b = { deviceId: r.deviceId, chars: 0, tsMin: r.ts, tsMax: r.ts, columns: emptyColumns(), bodies: [] }
        open.set(key, b)
        built.push(b)
      }
      const c = b.columns
      c.pos.push(i - start)
      c.ts.push(r.ts)
      c.level.push(r.level ?? null)
      c.score.push(e.score)
      c.kinds.push(joinKinds(e.kinds))
      b.bodies.push(r.body)
      b.chars += r.body.length
      if (r.ts < b.tsMin) b.tsMin = r.ts
      if (r.ts > b.tsMax) b.tsMax = r.ts
    }
    slices.push(
      built.map((b) => ({
        deviceId: b.deviceId,
        tsMin: b.tsMin,
        tsMax: b.tsMax,
        count: b.columns.pos.length,
        data: chunkData(b.columns, b.bodies),
      })),
    )
  }
  return slices
}

/** A chunk being filled: a new one starts when the next body would take it past CHUNK_MAX_CHARS. */
interface Builder {
  deviceId: string
  chars: number
  tsMin: number
  tsMax: number
  columns: Columns
  bodies: string[]
}

const emptyColumns = (): Columns => ({ pos: [], ts: [], level: [], score: [], kinds: [] })

/** The records of a stored chunk, in the order they are held (arrival order within the chunk). */
export function unpackChunk(row: ChunkRow): StoredRecord[] {
  const newline = row.data.indexOf('\n')
  const c = JSON.parse(newline < 0 ? row.data : row.data.slice(0, newline)) as Columns & { body?: string[] }
  const bodies = newline < 0 ? c.body! : row.data.slice(newline + 1).split('\n')
  const base = row.commit_seq * POSITIONS
  const out = new Array<StoredRecord>(c.pos.length)
  for (let i = 0; i < c.pos.length; i++) {
    out[i] = {
      id: base + c.pos[i]!,
      deviceId: row.device_id,
      ts: c.ts[i]!,
      ingestedAt: row.ingested_at,
      level: (c.level[i] ?? undefined) as Level | undefined,
      score: c.score[i]!,
      kinds: splitKinds(c.kinds[i]!),
      body: bodies[i]!,
    }
  }
  return out
}

/** Time order: ts, then id. */
export const byTime = (a: StoredRecord, b: StoredRecord): number => a.ts - b.ts || a.id - b.id
