// An OTLP time (nanoseconds since the epoch, 0 when unset) as a record's `ts` (milliseconds) and
// `time` (RFC 3339 to the nanosecond, as the Influx input writes it).
import { MAX_TS } from '../../domain/time.js'
import { rfc3339Nano } from '../influx/write-body.js'

/** Undefined for 0 (unset: the record takes the time it arrives); `time` only within the records' range. */
export function recordTime(nanos: bigint): { ts: number; time?: string } | undefined {
  if (nanos === 0n) return undefined
  const ts = Number(nanos / 1_000_000n)
  // Past MAX_TS the record is refused for its ts; a Date that far out could not be formatted.
  return ts <= MAX_TS ? { ts, time: rfc3339Nano(nanos) } : { ts }
}
