import { describe, expect, it } from 'vitest'
import { MAX_TS } from '../../domain/time.js'
import { recordTime } from './record-time.js'

describe('recordTime', () => {
  it('gives ts in milliseconds, and time only when there are digits past the millisecond', () => {
    expect(recordTime(0n)).toBeUndefined()
    expect(recordTime(1_700_000_000_123_000_000n)).toEqual({ ts: 1_700_000_000_123 })
    expect(recordTime(1_700_000_000_123_000_450n)).toEqual({
      ts: 1_700_000_000_123,
      time: '2023-11-14T22:13:20.12300045Z',
    })
    // Too far out to format: the ts alone, which the record then refuses.
    expect(recordTime(BigInt(MAX_TS + 1) * 1_000_000n + 1n)).toEqual({ ts: MAX_TS + 1 })
  })
})
