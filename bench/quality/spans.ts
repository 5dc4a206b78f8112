// What a generator's labels say and what the quality harness scores against: faults as spans of row
// indices of one stream or one device's run, [start, end), with their kind.

export interface FaultSpan {
  kind: string
  /** First faulty row. */
  start: number
  /** One past the last faulty row. */
  end: number
}

/** Per row: 1 inside a fault's span, else 0. Spans past the end are cut at `rows`. */
export function faultMask(rows: number, faults: readonly FaultSpan[]): Uint8Array {
  const mask = new Uint8Array(rows)
  for (const f of faults) mask.fill(1, Math.max(0, f.start), Math.min(rows, f.end))
  return mask
}

/** The rows of a stream with times `ts` (increasing) that fall in [startMs, endMs). */
export function spanOfTimes(ts: Float64Array, kind: string, startMs: number, endMs: number): FaultSpan {
  return { kind, start: firstAtOrAfter(ts, startMs), end: firstAtOrAfter(ts, endMs) }
}

/** Index of the first time at or after `ms` (ts.length when none), by bisection. */
function firstAtOrAfter(ts: Float64Array, ms: number): number {
  let lo = 0
  let hi = ts.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (ts[mid]! < ms) lo = mid + 1
    else hi = mid
  }
  return lo
}
