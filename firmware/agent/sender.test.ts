import { describe, expect, it } from 'vitest'
import { outcomeOf } from './sender.js'

const answer = (body: unknown) => ({ status: 200, headers: {}, body: JSON.stringify(body) })

describe('ingest answers', () => {
  it('passes on the anomalies the server lists, and how many it found in all', () => {
    const anomaly = {
      ts: '2026-01-01T00:00:00.000Z',
      kind: 'spike',
      metric: 'flow',
      value: 9,
      score: 0.9,
      detail: null,
    }
    expect(
      outcomeOf(answer({ accepted: 3, rejectedCount: 0, anomalyCount: 2, anomalies: [anomaly, { bad: 1 }] })),
    ).toEqual({ kind: 'acked', accepted: 3, refused: 0, anomalyCount: 2, anomalies: [anomaly] })
    expect(outcomeOf(answer({ accepted: 3, rejectedCount: 0 }))).toEqual({
      kind: 'acked',
      accepted: 3,
      refused: 0,
      anomalyCount: 0,
      anomalies: [],
    })
  })
})
