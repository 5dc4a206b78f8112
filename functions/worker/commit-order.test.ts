import { describe, expect, it } from 'vitest'
import { inCommitOrder } from './commit-order.js'
import type { IngestPart } from './split.js'

describe('inCommitOrder', () => {
  const part = (shard: number, at: [number, number][]): IngestPart => ({
    shard,
    text: '',
    records: at.map(([, ts]) => ({
      deviceId: `s${shard}`,
      ts,
      level: undefined,
      msg: undefined,
      metrics: [],
      body: '',
    })),
    ordinals: at.map(([o]) => o),
  })

  it('puts first the part whose record comes first at a shared time', () => {
    // The batch starts mid-turn: s1 at t=0 appears first, but at every full turn s0 goes first.
    const s1 = part(1, [
      [0, 0],
      [3, 1],
    ])
    const s0 = part(0, [[1, 1]])
    const s2 = part(2, [
      [2, 0],
      [4, 1],
    ])
    expect(inCommitOrder([s1, s2, s0], 5).map((p) => p.shard)).toEqual([0, 1, 2])
  })

  it('keeps first appearance when the batch orders two parts both ways', () => {
    const s1 = part(1, [
      [0, 0],
      [3, 1],
    ])
    const s0 = part(0, [
      [1, 0],
      [2, 1],
    ])
    expect(inCommitOrder([s1, s0], 4).map((p) => p.shard)).toEqual([1, 0])
  })
})
