import { describe, expect, it } from 'vitest'
import {
  CHUNK_MAX_CHARS,
  CHUNK_SPAN_MS,
  type ChunkRow,
  POSITIONS,
  packChunks,
  unpackChunk,
} from './chunks.js'
import { entry } from './store-fixtures.js'

/** Packs, then reads each chunk back as stored under commit numbers 1, 2, ... */
function roundTrip(entries: ReturnType<typeof entry>[]) {
  const slices = packChunks(entries)
  const records = slices.flatMap((chunks, s) =>
    chunks.flatMap((c, k) => {
      const row: ChunkRow = {
        id: k,
        device_id: c.deviceId,
        ts_min: c.tsMin,
        commit_seq: s + 1,
        ingested_at: 7,
        data: c.data,
      }
      return unpackChunk(row)
    }),
  )
  return { slices, records: records.sort((a, b) => a.id - b.id) }
}

describe('record chunks', () => {
  it('keep every field of every record, in arrival order by id', () => {
    const entries = [
      entry('a', 5, { v: 1 }, { level: 'warn', score: 0.1 + 0.2, kinds: ['spike', 'level_shift'] }),
      entry('b', 5, { msg: 'é \u2028 "q" \\ \t' }),
      entry('a', 4, { v: 2 }, { score: 1 / 3 }),
    ]
    const { slices, records } = roundTrip(entries)
    expect(slices).toHaveLength(1)
    expect(slices[0]!.map((c) => [c.deviceId, c.count, c.tsMin, c.tsMax])).toEqual([
      ['a', 2, 4, 5],
      ['b', 1, 5, 5],
    ])
    expect(records).toEqual(
      entries.map((e, i) => ({
        id: POSITIONS + i,
        deviceId: e.record.deviceId,
        ts: e.record.ts,
        ingestedAt: 7,
        level: e.record.level,
        score: e.score,
        kinds: e.kinds,
        body: e.record.body,
      })),
    )
  })

  it('keep a body that holds a raw newline, as a JSON array', () => {
    const odd = entry('a', 1)
    odd.record.body = '{"deviceId":"a",\n"ts":1}'
    const { slices, records } = roundTrip([entry('a', 0), odd])
    expect(slices[0]![0]!.data).toContain('"body":[')
    expect(records.map((r) => r.body)).toEqual([entry('a', 0).record.body, odd.record.body])
  })

  it('never span an hour of record time, negative times included', () => {
    const times = [-CHUNK_SPAN_MS - 1, -CHUNK_SPAN_MS, -1, 0, CHUNK_SPAN_MS - 1, CHUNK_SPAN_MS]
    const { slices } = roundTrip(times.map((ts) => entry('a', ts)))
    expect(slices[0]!.map((c) => [c.tsMin, c.tsMax])).toEqual([
      [-CHUNK_SPAN_MS - 1, -CHUNK_SPAN_MS - 1],
      [-CHUNK_SPAN_MS, -1],
      [0, CHUNK_SPAN_MS - 1],
      [CHUNK_SPAN_MS, CHUNK_SPAN_MS],
    ])
  })

  it('cut at CHUNK_MAX_CHARS of bodies, and a commit into slices of POSITIONS records', () => {
    const big = Array.from({ length: 10 }, (_, i) => entry('a', i, { pad: 'x'.repeat(60_000) }))
    const { slices } = roundTrip(big)
    expect(slices[0]!.map((c) => c.count)).toEqual([4, 4, 2])
    for (const c of slices[0]!) expect(c.data.length).toBeLessThan(CHUNK_MAX_CHARS + 1000)

    const many = Array.from({ length: POSITIONS + 3 }, (_, i) => entry('b', i))
    const { slices: cut, records } = roundTrip(many)
    expect(cut.map((chunks) => chunks.reduce((n, c) => n + c.count, 0))).toEqual([POSITIONS, 3])
    expect(records.at(-1)!.id).toBe(2 * POSITIONS + 2)
    expect(records.map((r) => r.ts)).toEqual(many.map((e) => e.record.ts))
  })
})
