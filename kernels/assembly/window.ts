// Window features over time: a window of K slides (default 60 s = 6 x 10 s) closes at every slide
// boundary; each closed window emits count, mean, stddev, min, max and range.
// One bucket per slide holds count, mean and M2 (Welford); a window merges its K buckets (Chan et al.).
// A sample older than the current bucket is counted in the current bucket.
import {
  B_COUNT,
  B_FIELDS,
  B_INDEX,
  B_M2,
  B_MAX,
  B_MEAN,
  B_MIN,
  BUCKETS_MAX,
  P_SLIDE_MS,
  P_WINDOW_MS,
  S_BUCKETS,
  S_WIN_CURRENT,
  W_COUNT,
  W_END,
  W_FIELDS,
  W_MAX,
  W_MEAN,
  W_MIN,
  W_RANGE,
  W_START,
  W_STD,
  WINDOW_PTR,
} from '../layout'
import { get, param, set } from './memory'

@inline
export function bucketsPerWindow(): i64 {
  return <i64>min<f64>(max<f64>(Math.round(param(P_WINDOW_MS) / param(P_SLIDE_MS)), 1), BUCKETS_MAX)
}

@inline
function slot(bucket: i64, field: i32): i32 {
  const k = bucketsPerWindow()
  const s = <i32>(((bucket % k) + k) % k)
  return S_BUCKETS + s * B_FIELDS + field
}

function clearBucket(bucket: i64): void {
  set(slot(bucket, B_INDEX), <f64>bucket)
  set(slot(bucket, B_COUNT), 0)
  set(slot(bucket, B_MEAN), 0)
  set(slot(bucket, B_M2), 0)
  set(slot(bucket, B_MIN), Infinity)
  set(slot(bucket, B_MAX), -Infinity)
}

/** How many windows a sample at ts closes (0 when it stays in the current slide). */
@inline
export function windowsClosedBy(ts: f64): i32 {
  const current = get(S_WIN_CURRENT)
  if (isNaN(current)) return 0
  const bucket = Math.floor(ts / param(P_SLIDE_MS))
  if (bucket <= current) return 0
  return <i32>min<f64>(bucket - current, <f64>bucketsPerWindow())
}

/** Writes the window that ends at the start of `end` (a bucket index) as record `at`. */
function emitWindow(end: i64, at: i32): void {
  const k = bucketsPerWindow()
  let n: f64 = 0
  let mean: f64 = 0
  let m2: f64 = 0
  let lo: f64 = Infinity
  let hi: f64 = -Infinity
  for (let b = end - k; b < end; b++) {
    if (get(slot(b, B_INDEX)) != <f64>b) continue
    const nb = get(slot(b, B_COUNT))
    if (nb == 0) continue
    const mb = get(slot(b, B_MEAN))
    const total = n + nb
    const delta = mb - mean
    mean += (delta * nb) / total
    m2 += get(slot(b, B_M2)) + (delta * delta * n * nb) / total
    n = total
    lo = min<f64>(lo, get(slot(b, B_MIN)))
    hi = max<f64>(hi, get(slot(b, B_MAX)))
  }
  const slide = param(P_SLIDE_MS)
  const out = WINDOW_PTR + at * W_FIELDS * 8
  store<f64>(out + W_START * 8, <f64>(end - k) * slide)
  store<f64>(out + W_END * 8, <f64>end * slide)
  store<f64>(out + W_COUNT * 8, n)
  store<f64>(out + W_MEAN * 8, mean)
  store<f64>(out + W_STD * 8, Math.sqrt(m2 / n))
  store<f64>(out + W_MIN * 8, lo)
  store<f64>(out + W_MAX * 8, hi)
  store<f64>(out + W_RANGE * 8, hi - lo)
}

/** Closes the windows the sample ends (writing them from record `at`), then adds the sample. */
export function windowStep(ts: f64, x: f64, at: i32): i32 {
  const current = get(S_WIN_CURRENT)
  let bucket = <i64>Math.floor(ts / param(P_SLIDE_MS))
  let closed = 0
  if (isNaN(current)) {
    clearBucket(bucket)
    set(S_WIN_CURRENT, <f64>bucket)
  } else if (<f64>bucket > current) {
    closed = windowsClosedBy(ts)
    const first = <i64>current + 1
    for (let i = 0; i < closed; i++) emitWindow(first + i, at + i)
    clearBucket(bucket)
    set(S_WIN_CURRENT, <f64>bucket)
  } else {
    bucket = <i64>current
  }
  const n = get(slot(bucket, B_COUNT)) + 1
  const mean = get(slot(bucket, B_MEAN))
  const d = x - mean
  const next = mean + d / n
  set(slot(bucket, B_COUNT), n)
  set(slot(bucket, B_MEAN), next)
  set(slot(bucket, B_M2), get(slot(bucket, B_M2)) + d * (x - next))
  set(slot(bucket, B_MIN), min<f64>(get(slot(bucket, B_MIN)), x))
  set(slot(bucket, B_MAX), max<f64>(get(slot(bucket, B_MAX)), x))
  return closed
}
