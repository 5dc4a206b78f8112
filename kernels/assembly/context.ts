// Context: how much of the present step's context the series has never shown before.
// Values are quantised into `levels` levels between the running min and max. Each step has
// `lags` pair contexts (the level d steps back, the level now, d) and, when `hours` > 0, one
// time-of-day context (the hour-of-day bucket, the level now). A bitmap remembers every context
// seen (exact, fixed size: levels² · lags + hours · levels ≤ CONTEXT_BITS). The strength is the
// share of the step's contexts never seen before, in [0, 1]; 1 (all new) fires after warm-up.
import {
  P_CONTEXT_HOURS,
  P_CONTEXT_LAGS,
  P_CONTEXT_LEVELS,
  S_CTX_BITS,
  S_CTX_HI,
  S_CTX_LO,
  S_CTX_RECENT,
  STATE_PTR,
} from '../layout'
import { get, param, set } from './memory'

const DAY_MS: f64 = 86_400_000
const BITS_PTR: usize = STATE_PTR + (S_CTX_BITS << 3)
const RECENT_PTR: usize = STATE_PTR + (S_CTX_RECENT << 3)

/** Marks context `bit` as seen; returns 1 when it had not been seen before. */
@inline
function see(bit: i32): i32 {
  const at = BITS_PTR + (<usize>bit >>> 3)
  const byte = <i32>load<u8>(at)
  const mask = 1 << (bit & 7)
  store<u8>(at, <u8>(byte | mask))
  return (byte & mask) == 0 ? 1 : 0
}

/** `n` is the number of samples the series has seen before x. */
@inline
export function contextStep(ts: f64, x: f64, n: f64): f64 {
  let lo = get(S_CTX_LO)
  let hi = get(S_CTX_HI)
  if (n == 0) {
    lo = x
    hi = x
    set(S_CTX_LO, x)
    set(S_CTX_HI, x)
  } else if (x < lo) {
    lo = x
    set(S_CTX_LO, x)
  } else if (x > hi) {
    hi = x
    set(S_CTX_HI, x)
  }
  const levels = <i32>param(P_CONTEXT_LEVELS)
  const r = hi > lo ? ((x - lo) / (hi - lo)) * <f64>levels : 0
  const q: i32 = r >= <f64>levels ? levels - 1 : r > 0 ? <i32>r : 0
  const lags = <i32>param(P_CONTEXT_LAGS)
  const seen = n < <f64>lags ? <i32>n : lags
  const recent = load<u32>(RECENT_PTR)
  let novel: i32 = 0
  for (let d = 0; d < seen; d++) {
    const before = <i32>((recent >>> (d << 3)) & 255)
    novel += see((d * levels + before) * levels + q)
  }
  let total = seen
  const hours = <i32>param(P_CONTEXT_HOURS)
  if (hours > 0) {
    const f = ((ts - Math.floor(ts / DAY_MS) * DAY_MS) / DAY_MS) * <f64>hours
    const h: i32 = f >= <f64>hours ? hours - 1 : f > 0 ? <i32>f : 0
    novel += see((lags * levels + h) * levels + q)
    total++
  }
  store<u32>(RECENT_PTR, (recent << 8) | <u32>q)
  return total > 0 ? <f64>novel / <f64>total : 0
}
