// Display decimation: at most two points (min and max) per bucket, for charts only. Detection
// always sees every sample.

export interface Points {
  ts: Float64Array
  values: Float64Array
}

/** Points of [from, to] in time, thinned to about `maxPoints` keeping each bucket's extremes. */
export function decimate(
  ts: Float64Array,
  values: Float64Array,
  from: number,
  to: number,
  maxPoints: number,
): Points {
  let a = 0
  while (a < ts.length && ts[a]! < from) a++
  let b = a
  while (b < ts.length && ts[b]! <= to) b++
  const n = b - a
  if (n <= maxPoints) return { ts: ts.slice(a, b), values: values.slice(a, b) }
  const buckets = Math.max(1, Math.floor(maxPoints / 2))
  const per = n / buckets
  const outTs: number[] = []
  const outV: number[] = []
  for (let k = 0; k < buckets; k++) {
    const s = a + Math.floor(k * per)
    const e = Math.min(b, a + Math.floor((k + 1) * per))
    if (s >= e) continue
    let lo = s
    let hi = s
    for (let i = s + 1; i < e; i++) {
      if (values[i]! < values[lo]!) lo = i
      if (values[i]! > values[hi]!) hi = i
    }
    const [first, second] = lo <= hi ? [lo, hi] : [hi, lo]
    outTs.push(ts[first]!)
    outV.push(values[first]!)
    if (second !== first) {
      outTs.push(ts[second]!)
      outV.push(values[second]!)
    }
  }
  return { ts: Float64Array.from(outTs), values: Float64Array.from(outV) }
}
