// Window features over time: a window of K slides (default 60 s = 6 x 10 s) closes at every slide
// boundary; each closed window emits count, mean, stddev, min, max and range.
// One bucket per slide keeps shifted sums (no division per sample) in a ring of K entries; a window
// merges its buckets oldest first (Chan et al.). A late sample is counted in the current bucket.
import {
  B_COUNT,
  B_FIELDS,
  B_INDEX,
  B_MAX,
  B_MIN,
  B_SHIFT,
  B_SUM,
  B_SUMSQ,
  BUCKET_STATS_PTR,
  BUCKET_VALID_PTR,
  BUCKETS_MAX,
  P_SLIDE_MS,
  P_WINDOW_BUCKETS,
  S_BUCKETS,
  S_WIN_CURRENT,
  S_WIN_SLOT,
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

/** State slot of field 0 of ring entry j. */
@inline
function entry(j: i32): i32 {
  return S_BUCKETS + j * B_FIELDS
}

/** Forgets every ring entry's cached mean and M2 (at the start of a batch: the host may have restored a snapshot). */
@inline
export function forgetBucketStats(): void {
  memory.fill(BUCKET_VALID_PTR, 0, BUCKETS_MAX)
}

/**
 * Writes the window that ends at the start of bucket `end` as output record `at`.
 *
 * A bucket is merged into k windows: its own mean and M2 (two divisions) are computed the first
 * time, once it is complete, and cached in scratch memory (the same operations on the same values,
 * so the same bits). Only complete buckets are merged (the current one is complete when a window
 * closes), opening a bucket forgets its entry's cache, and every batch starts by forgetting all.
 */
function emitWindow(end: f64, k: i32, at: i32): void {
  let n: f64 = 0
  let mean: f64 = 0
  let m2: f64 = 0
  let lo: f64 = Infinity
  let hi: f64 = -Infinity
  // Oldest ring entry first: the one after the current.
  const current = <i32>get(S_WIN_SLOT)
  const inRing = current >= 0 && current < k
  let j = current
  for (let i = 1; i <= k; i++) {
    // (current + i) % k, without a remainder when current is a ring entry (always, unless the
    // snapshot was forged).
    j = inRing ? (j + 1 == k ? 0 : j + 1) : (current + i) % k
    const s = entry(j)
    const index = get(s + B_INDEX)
    if (!(index >= end - <f64>k && index < end)) continue
    const nb = get(s + B_COUNT)
    let mb: f64
    let m2b: f64
    const cachable = <u32>j < <u32>BUCKETS_MAX
    const cached = BUCKET_STATS_PTR + (<usize>j << 4)
    if (cachable && load<u8>(BUCKET_VALID_PTR + <usize>j) != 0) {
      mb = load<f64>(cached)
      m2b = load<f64>(cached, 8)
    } else {
      const sum = get(s + B_SUM)
      mb = get(s + B_SHIFT) + sum / nb
      m2b = max<f64>(0, get(s + B_SUMSQ) - (sum * sum) / nb)
      if (cachable) {
        store<f64>(cached, mb)
        store<f64>(cached, m2b, 8)
        store<u8>(BUCKET_VALID_PTR + <usize>j, 1)
      }
    }
    const total = n + nb
    const delta = mb - mean
    mean += (delta * nb) / total
    m2 += m2b + (delta * delta * n * nb) / total
    n = total
    lo = min<f64>(lo, get(s + B_MIN))
    hi = max<f64>(hi, get(s + B_MAX))
  }
  const slide = param(P_SLIDE_MS)
  const out = WINDOW_PTR + at * W_FIELDS * 8
  store<f64>(out + W_START * 8, (end - <f64>k) * slide)
  store<f64>(out + W_END * 8, end * slide)
  store<f64>(out + W_COUNT * 8, n)
  store<f64>(out + W_MEAN * 8, mean)
  store<f64>(out + W_STD * 8, Math.sqrt(m2 / n))
  store<f64>(out + W_MIN * 8, lo)
  store<f64>(out + W_MAX * 8, hi)
  store<f64>(out + W_RANGE * 8, hi - lo)
}

/** Starts bucket `bucket` with the sample x in ring entry j, evicting the oldest bucket. */
function openBucket(bucket: f64, j: i32, x: f64): void {
  if (<u32>j < <u32>BUCKETS_MAX) store<u8>(BUCKET_VALID_PTR + <usize>j, 0)
  const s = entry(j)
  set(s + B_INDEX, bucket)
  set(s + B_COUNT, 0)
  set(s + B_SHIFT, x)
  set(s + B_SUM, 0)
  set(s + B_SUMSQ, 0)
  set(s + B_MIN, Infinity)
  set(s + B_MAX, -Infinity)
  set(S_WIN_CURRENT, bucket)
  set(S_WIN_SLOT, <f64>j)
}

/**
 * Closes the windows the sample ends (writing them from output record `at`), then adds the
 * sample to the current bucket. Returns how many windows it closed (at most BUCKETS_MAX).
 */
export function windowStep(ts: f64, x: f64, at: i32): i32 {
  const current = get(S_WIN_CURRENT)
  const slide = param(P_SLIDE_MS)
  let closed = 0
  if (!(ts < (current + 1) * slide)) {
    const k = <i32>param(P_WINDOW_BUCKETS)
    const bucket = Math.floor(ts / slide)
    let j = 0
    if (!isNaN(current)) {
      closed = <i32>min<f64>(bucket - current, <f64>k)
      for (let i = 0; i < closed; i++) emitWindow(current + 1 + <f64>i, k, at + i)
      j = (<i32>get(S_WIN_SLOT) + 1) % k
    }
    openBucket(bucket, j, x)
  }
  const s = entry(<i32>get(S_WIN_SLOT))
  const d = x - get(s + B_SHIFT)
  set(s + B_COUNT, get(s + B_COUNT) + 1)
  set(s + B_SUM, get(s + B_SUM) + d)
  set(s + B_SUMSQ, get(s + B_SUMSQ) + d * d)
  set(s + B_MIN, min<f64>(get(s + B_MIN), x))
  set(s + B_MAX, max<f64>(get(s + B_MAX), x))
  return closed
}
