// Stuck sensor: the value repeats for N samples in a series that normally changes.
// "Normally changes" is an EWMA of the change indicator, frozen when the current run began.
import { P_STUCK_ALPHA, P_STUCK_MIN_RATE, P_STUCK_N, S_COUNT, S_PREV, S_STUCK_RATE, S_STUCK_RATE_AT_START, S_STUCK_RUN } from '../layout'
import { get, param, set } from './memory'

/** Strength 1 + rate when the run reaches exactly N samples (one verdict per run), else 0. */
@inline
export function stuckStep(x: f64): f64 {
  const n = get(S_COUNT)
  const rate = get(S_STUCK_RATE)
  const changed: f64 = n > 0 && x != get(S_PREV) ? 1 : 0
  let run = get(S_STUCK_RUN)
  if (changed > 0 || n == 0) {
    set(S_STUCK_RATE_AT_START, rate)
    run = 1
  } else {
    run += 1
  }
  set(S_STUCK_RUN, run)
  if (n > 0) set(S_STUCK_RATE, rate + param(P_STUCK_ALPHA) * (changed - rate))
  const atStart = get(S_STUCK_RATE_AT_START)
  if (run == param(P_STUCK_N) && atStart >= param(P_STUCK_MIN_RATE)) return 1 + atStart
  return 0
}
