// An ingest batch holding several shards' devices, split into one part per shard. The body is read
// by the app's own parser (domain/ingest-body.ts), so the front door and the shards agree on which
// entries are records; each part is then a body in the batch's own format that the shard parses
// again, exactly as it would the whole batch:
// - NDJSON parts keep every line where it was: another shard's lines become empty lines (which the
//   parser skips), so rejections and dead letters carry the batch's own line numbers.
// - JSON-array parts hold their entries in batch order; `indexes` maps a part index back to the
//   batch's (merge.ts puts it back in the answer).
// Entries that are not records travel with the part of the batch's first record, so that part
// lists every rejection (and keeps every dead letter) and no part is only rejections.
import { BodyError, type BodyFormat, parseBody } from '../domain/ingest-body.js'
import { toRecord } from '../domain/record.js'
import type { DeviceRecord } from '../domain/types.js'
import { inCommitOrder } from './commit-order.js'
import { shardOf } from './shards.js'

export interface IngestPart {
  shard: number
  /** The part's body. */
  text: string
  /** The part's records, in part order. */
  records: DeviceRecord[]
  /** Each record's place among the batch's records (orders the merged anomalies). */
  ordinals: number[]
  /** JSON arrays only: the batch index of each entry of the part. */
  indexes?: number[]
}

/**
 * How a batch goes to the shards: whole, unchanged, to one shard (all its records are that shard's,
 * or it holds none: the shard answers its refusal), or as parts. `refused` when an entry cannot be
 * written again for its part (nested too deeply to serialise).
 */
export type Plan = { whole: number } | { parts: IngestPart[] } | { refused: string }

export async function planBatch(
  text: string,
  format: BodyFormat,
  now: number,
  shards: number,
): Promise<Plan> {
  let parsed: Awaited<ReturnType<typeof parseBody>>
  try {
    parsed = await parseBody(text, format, now)
  } catch (e) {
    if (e instanceof BodyError) return { whole: 0 }
    throw e
  }
  const { records } = parsed
  if (records.length === 0) return { whole: 0 }
  const first = shardOf(records[0]!.deviceId, shards)
  if (shards === 1 || records.every((r) => shardOf(r.deviceId, shards) === first)) return { whole: first }
  if (format === 'ndjson') {
    const lines = text.split('\n')
    return planLines(lines, ndjsonKinds(lines, records), shards)
  }
  const plan = splitArray(text, parsed, now, first, shards)
  return 'parts' in plan ? { parts: inCommitOrder(plan.parts, records.length) } : plan
}

class Parts {
  readonly byShard = new Map<number, IngestPart & { entries: string[] }>()

  part(shard: number) {
    let p = this.byShard.get(shard)
    if (!p) {
      p = { shard, text: '', records: [], ordinals: [], entries: [] }
      this.byShard.set(shard, p)
    }
    return p
  }
}

/** What a line of a line-based batch is: a record, a rejected entry, or nothing (blank, a comment). */
export type LineKind = DeviceRecord | 'rejected' | undefined

/**
 * A line-based batch (NDJSON, Influx line protocol) cut into parts that keep every line where it
 * was: another shard's lines are left empty, which both parsers skip, so rejections and dead letters
 * carry the batch's own line numbers. Rejected lines go with the first record's part.
 */
export function planLines(lines: string[], kinds: LineKind[], shards: number): Plan {
  const records = kinds.filter((k): k is DeviceRecord => typeof k === 'object')
  if (records.length === 0) return { whole: 0 }
  const first = shardOf(records[0]!.deviceId, shards)
  if (shards === 1 || records.every((r) => shardOf(r.deviceId, shards) === first)) return { whole: first }
  const owner = new Int32Array(lines.length).fill(-1)
  const parts = new Parts()
  let next = 0
  kinds.forEach((kind, i) => {
    if (kind === undefined) return
    const p = parts.part(kind === 'rejected' ? first : shardOf(kind.deviceId, shards))
    if (kind !== 'rejected') {
      p.records.push(kind)
      p.ordinals.push(next++)
    }
    owner[i] = p.shard
  })
  for (const p of parts.byShard.values())
    p.text = lines.map((l, i) => (owner[i] === p.shard ? l : '')).join('\n')
  const cut = [...parts.byShard.values()].map(({ entries: _, ...p }) => p)
  return { parts: inCommitOrder(cut, records.length) }
}

/** NDJSON: a line is the next record when it is that record's text (the parser keeps a line as its body). */
function ndjsonKinds(lines: string[], records: DeviceRecord[]): LineKind[] {
  let next = 0
  return lines.map((line) => {
    const body = line.endsWith('\r') ? line.slice(0, -1) : line
    const record = records[next]
    if (record && body === record.body) return records[next++]
    return /^[ \t\r]*$/.test(line) ? undefined : 'rejected'
  })
}

/**
 * JSON array: a record's entry is its text as the parser wrote it; a rejected entry's is the raw text
 * the parser kept. Past the rejections kept one by one, the entries are read again to tell which.
 */
function splitArray(
  text: string,
  parsed: Awaited<ReturnType<typeof parseBody>>,
  now: number,
  rejectedTo: number,
  shards: number,
): Plan {
  const { records, rejected, rejectedCount } = parsed
  const parts = new Parts()
  const add = (shard: number, entry: string, index: number, ordinal?: number) => {
    const p = parts.part(shard)
    p.entries.push(entry)
    p.indexes ??= []
    p.indexes.push(index)
    if (ordinal !== undefined) {
      p.records.push(records[ordinal]!)
      p.ordinals.push(ordinal)
    }
  }
  const total = records.length + rejectedCount
  let next = 0
  if (rejectedCount === rejected.length && rejected.every((r) => r.raw !== undefined)) {
    const raws = new Map(rejected.map((r) => [r.index!, r.raw!]))
    for (let index = 0; index < total; index++) {
      const raw = raws.get(index)
      if (raw !== undefined) add(rejectedTo, raw, index)
      else add(shardOf(records[next]!.deviceId, shards), records[next]!.body, index, next++)
    }
  } else {
    const items = JSON.parse(text) as unknown[]
    for (let index = 0; index < items.length; index++) {
      if (toRecord(items[index], now).ok) {
        add(shardOf(records[next]!.deviceId, shards), records[next]!.body, index, next++)
        continue
      }
      let raw: string | undefined
      try {
        raw = JSON.stringify(items[index])
      } catch {}
      if (raw === undefined) return { refused: `entry ${index} is nested too deeply to be sent to its shard` }
      add(rejectedTo, raw, index)
    }
  }
  return {
    parts: [...parts.byShard.values()].map(({ entries, ...p }) => ({ ...p, text: `[${entries.join(',')}]` })),
  }
}
