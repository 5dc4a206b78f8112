import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fixtureLines } from '../../e2e/fixture.js'
import { importRows } from '../import/import.js'
import { CHUNK_RECORDS } from './chunk.js'
import { DatasetStore } from './datasets.js'

let store: DatasetStore
let name = 0
beforeEach(async () => {
  store = await DatasetStore.open(`test-${name++}`)
})
afterEach(() => store.close())

const streamOf = (text: string) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode(text))
      c.close()
    },
  })
const source = (text: string, file = 'f.ndjson') => ({
  stream: streamOf(text),
  name: file,
  source: file,
  fromServer: false,
  totalBytes: text.length,
})

describe('datasets in IndexedDB', () => {
  it('imports in chunks, keeps every valid record, and reports skipped ones by line', async () => {
    const records = CHUNK_RECORDS + 1234
    const text = [...fixtureLines({ records, malformedLine: 7 })].join('')
    const progress: number[] = []
    const d = await importRows(store, source(text), (p) => progress.push(p.records))
    expect(d).toMatchObject({
      records: records - 1,
      invalid: 1,
      chunks: 2,
      complete: true,
      bytes: text.length,
    })
    expect(d.problems).toEqual([{ line: 7, reason: expect.stringMatching(/^invalid JSON/) }])
    expect(d.devices).toEqual(['dev-1', 'dev-2', 'dev-3'])
    expect(d.metrics).toEqual(['temp', 'latencyMs'])
    expect(progress.at(-1)).toBe(records - 1)
    const chunks = await store.chunks(d.id)
    expect(chunks.map((c) => c.n)).toEqual([CHUNK_RECORDS, 1233])
    expect(chunks[0]!.line[6]).toBe(8)
    expect(JSON.parse(chunks[1]!.body.at(-1)!)).toMatchObject({
      deviceId: expect.any(String),
      temp: expect.any(Number),
    })
  })

  it('lists, renames and deletes datasets with their chunks', async () => {
    const a = await importRows(store, source([...fixtureLines({ records: 10 })].join(''), 'a.ndjson'))
    const b = await importRows(store, source('ts,device,temp\n1,x,1\n2,x,2\n', 'b.csv'))
    expect((await store.list()).map((d) => d.id).sort()).toEqual([a.id, b.id].sort())
    expect((await store.rename(b.id, '  pump room  ')).name).toBe('pump room')
    await expect(store.rename(b.id, '   ')).rejects.toThrow(/needs a name/)
    await expect(store.rename('nope', 'x')).rejects.toThrow(/no dataset/)
    await store.remove(a.id)
    expect((await store.list()).map((d) => d.name)).toEqual(['pump room'])
    expect(await store.chunks(a.id)).toEqual([])
    expect(await store.chunks(b.id)).toHaveLength(1)
  })

  it('keeps what the server said when the file is a server export', async () => {
    const line = (ts: string, anomalies: string) =>
      JSON.stringify({ deviceId: 'd', ts, temp: 1, score: anomalies ? 0.9 : 0.1, anomalies })
    const d = await importRows(store, {
      ...source([line('2026-01-01T00:00:00Z', ''), line('2026-01-01T00:00:01Z', 'spike,outlier')].join('\n')),
      fromServer: true,
    })
    const [chunk] = await store.chunks(d.id)
    expect(chunk!.server?.kinds).toEqual(['', 'spike,outlier'])
    expect(chunk!.metrics.map((m) => m.name)).toEqual(['temp'])
  })

  it('refuses input with no valid record, says why, and leaves nothing behind', async () => {
    await expect(importRows(store, source('{"deviceId":"d","ts":"yesterday"}\n'))).rejects.toThrow(
      /no valid records; line 1: invalid timestamp/,
    )
    await expect(importRows(store, source(''))).rejects.toThrow(/no records/)
    await expect(importRows(store, source('\u0000\u0001garbage'))).rejects.toThrow(/no valid records/)
    expect(await store.list()).toEqual([])
  })

  it('rejects oversized records like the server does, and keeps the rest', async () => {
    const big = JSON.stringify({ deviceId: 'd', ts: 1, note: 'x'.repeat(70_000) })
    const d = await importRows(store, source(`${big}\n{"deviceId":"d","ts":2,"v":1}\n`))
    expect(d.records).toBe(1)
    expect(d.problems[0]).toEqual({ line: 1, reason: expect.stringMatching(/larger than/) })
  })
})
