import { describe, expect, it } from 'vitest'
import { shardOf } from './shards.js'
import { type IngestPart, planBatch } from './split.js'

const NOW = Date.UTC(2026, 0, 1)
/** Two device ids on different shards of 4, and a third on the first one's shard. */
const ids = (() => {
  const byShard = new Map<number, string[]>()
  for (let i = 0; byShard.size < 2 || (byShard.get(shardOf('d-0', 4))?.length ?? 0) < 2; i++) {
    const s = shardOf(`d-${i}`, 4)
    byShard.set(s, [...(byShard.get(s) ?? []), `d-${i}`])
  }
  const first = byShard.get(shardOf('d-0', 4))!
  const other = [...byShard.entries()].find(([s]) => s !== shardOf('d-0', 4))![1][0]!
  return { a: first[0]!, b: other, c: first[1]! }
})()
const line = (deviceId: string, ts: number) => JSON.stringify({ deviceId, ts, v: ts })

describe('planBatch', () => {
  it('sends a batch of one shard, and a batch with no record, whole', async () => {
    expect(await planBatch(`${line(ids.a, 1)}\n${line(ids.c, 2)}\nbad`, 'ndjson', NOW, 4)).toEqual({
      whole: shardOf(ids.a, 4),
    })
    expect(await planBatch('bad\n[]', 'ndjson', NOW, 4)).toEqual({ whole: 0 })
    expect(await planBatch('{', 'json', NOW, 4)).toEqual({ whole: 0 })
    expect(await planBatch(`${line(ids.a, 1)}\n${line(ids.b, 2)}`, 'ndjson', NOW, 1)).toEqual({ whole: 0 })
  })

  it('keeps every NDJSON line where it was, rejections with the first record', async () => {
    const text = [
      'bad',
      line(ids.b, 1),
      '',
      line(ids.a, 2),
      `${line(ids.c, 3)}\r`,
      '{"v":1}',
      line(ids.b, 4),
    ].join('\n')
    const plan = await planBatch(text, 'ndjson', NOW, 4)
    if (!('parts' in plan)) throw new Error('not split')
    const [b, a] = plan.parts as [IngestPart, IngestPart]
    expect(b.shard).toBe(shardOf(ids.b, 4))
    expect(b.text.split('\n')).toEqual(['bad', line(ids.b, 1), '', '', '', '{"v":1}', line(ids.b, 4)])
    expect(a.text.split('\n')).toEqual(['', '', '', line(ids.a, 2), `${line(ids.c, 3)}\r`, '', ''])
    expect(b.ordinals).toEqual([0, 3])
    expect(a.ordinals).toEqual([1, 2])
    expect(a.records.map((r) => r.deviceId)).toEqual([ids.a, ids.c])
  })

  it('maps JSON array parts back to batch indexes, also past the rejections kept one by one', async () => {
    const items = [
      1,
      { deviceId: ids.a, ts: 1 },
      { deviceId: ids.b, ts: 2 },
      { nope: true },
      { deviceId: ids.a, ts: 3 },
    ]
    const plan = await planBatch(JSON.stringify(items), 'json', NOW, 4)
    if (!('parts' in plan)) throw new Error('not split')
    const [a, b] = plan.parts as [IngestPart, IngestPart]
    expect(JSON.parse(a.text)).toEqual([1, items[1], items[3], items[4]])
    expect(a.indexes).toEqual([0, 1, 3, 4])
    expect(JSON.parse(b.text)).toEqual([items[2]])
    expect(b.indexes).toEqual([2])
    const many = [...Array.from({ length: 150 }, () => 7), ...items]
    const past = await planBatch(JSON.stringify(many), 'json', NOW, 4)
    if (!('parts' in past)) throw new Error('not split')
    expect(past.parts[0]!.indexes).toEqual([...Array.from({ length: 150 }, (_, i) => i), 150, 151, 153, 154])
    expect(past.parts[1]!.indexes).toEqual([152])
  })
})
