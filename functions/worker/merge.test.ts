import { describe, expect, it } from 'vitest'
import type { DeviceRecord } from '../domain/types.js'
import { mergeAccepted, type PartAnswer, recordOf } from './merge.js'
import type { IngestPart } from './split.js'

const NOW = Date.UTC(2026, 0, 1)
const rec = (
  deviceId: string,
  ts: number,
  metrics: [string, number][] = [],
  level?: 'error',
): DeviceRecord => ({
  deviceId,
  ts,
  metrics,
  level,
  msg: undefined,
  body: '',
})
const anomaly = (deviceId: string, ts: number, metric: string | null, value: number | null) => ({
  deviceId,
  ts: new Date(ts).toISOString(),
  kind: metric ? 'spike' : 'error',
  metric,
  value: value as number,
  score: 1,
  detail: null,
})
const answer = (part: IngestPart, body: object, status = 200): PartAnswer => ({
  part,
  status,
  body: JSON.stringify(body),
  replayed: false,
})

describe('recordOf', () => {
  it('finds the record of each anomaly in order, by device, time, metric and value or level', () => {
    const records = [rec('a', 1, [['t', 5]]), rec('a', 2, [['t', 9]], 'error'), rec('b', NOW, [['t', 1]])]
    expect(
      recordOf(
        [anomaly('a', 2, null, null), anomaly('a', 2, 't', 9), anomaly('b', 12345, 't', 1)],
        records,
        NOW,
      ),
    ).toEqual([1, 1, 2])
    expect(recordOf([anomaly('a', 2, 't', 5)], records, NOW)).toEqual([-1])
  })
})

describe('mergeAccepted', () => {
  it('adds counts, puts rejections and anomalies back in batch order, and keeps the key order of the answer', () => {
    const p0: IngestPart = {
      shard: 0,
      text: '',
      records: [rec('a', 1, [['t', 1]]), rec('a', 3, [['t', 3]])],
      ordinals: [0, 2],
      indexes: [0, 1, 3, 4],
    }
    const p1: IngestPart = {
      shard: 1,
      text: '',
      records: [rec('b', 2, [['t', 2]])],
      ordinals: [1],
      indexes: [2],
    }
    const merged = mergeAccepted(
      [
        answer(p0, {
          accepted: 2,
          rejectedCount: 2,
          rejected: [
            { index: 1, reason: 'x' },
            { index: 3, reason: 'y' },
          ],
          anomalyCount: 2,
          anomalies: [anomaly('a', 1, 't', 1), anomaly('a', 3, 't', 3)],
        }),
        answer(p1, {
          accepted: 1,
          rejectedCount: 0,
          rejected: [],
          anomalyCount: 1,
          anomalies: [anomaly('b', 2, 't', 2)],
        }),
      ],
      NOW,
    )
    expect(merged).toBe(
      JSON.stringify({
        accepted: 3,
        rejectedCount: 2,
        rejected: [
          { index: 1, reason: 'x' },
          { index: 4, reason: 'y' },
        ],
        anomalyCount: 3,
        anomalies: [anomaly('a', 1, 't', 1), anomaly('b', 2, 't', 2), anomaly('a', 3, 't', 3)],
      }),
    )
  })
})
