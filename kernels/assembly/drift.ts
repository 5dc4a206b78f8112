// Drift / level shift: two-sided CUSUM of standardised deviations from a slow EWMA baseline.
// On detection the sums and the baseline restart from the new level.
import {
  P_DRIFT_ALPHA,
  P_DRIFT_H,
  P_DRIFT_K,
  P_DRIFT_WARMUP,
  S_DRIFT_COUNT,
  S_DRIFT_MEAN,
  S_DRIFT_NEG,
  S_DRIFT_POS,
  S_DRIFT_VAR,
} from '../layout'
import { get, param, quotientAbove1, ratio, set, verdict, warmupWeight } from './memory'

/**
 * Strength = max(S+, S-) / h, 0 during warm-up. With `verdictOnly`, a value > 1 exactly when the
 * strength is (see verdict in memory.ts).
 */
@inline
export function driftStep(x: f64, verdictOnly: bool): f64 {
  const n = get(S_DRIFT_COUNT)
  const mean = get(S_DRIFT_MEAN)
  const variance = get(S_DRIFT_VAR)
  const d = x - mean
  let strength: f64 = 0
  if (n >= param(P_DRIFT_WARMUP)) {
    const z = ratio(abs<f64>(d), Math.sqrt(variance)) * (d < 0 ? -1 : 1)
    const k = param(P_DRIFT_K)
    const pos = max<f64>(0, get(S_DRIFT_POS) + z - k)
    const neg = max<f64>(0, get(S_DRIFT_NEG) - z - k)
    const top = max<f64>(pos, neg)
    const h = param(P_DRIFT_H)
    strength = verdictOnly ? verdict(quotientAbove1(top, h)) : top / h
    if (strength > 1) {
      set(S_DRIFT_POS, 0)
      set(S_DRIFT_NEG, 0)
      set(S_DRIFT_MEAN, x)
      set(S_DRIFT_COUNT, 1)
      return strength
    }
    set(S_DRIFT_POS, pos)
    set(S_DRIFT_NEG, neg)
  }
  const a = warmupWeight(n, param(P_DRIFT_ALPHA))
  const step = a * d
  set(S_DRIFT_MEAN, mean + step)
  set(S_DRIFT_VAR, (1 - a) * (variance + d * step))
  set(S_DRIFT_COUNT, n + 1)
  return strength
}
