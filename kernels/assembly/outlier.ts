// Outlier: z-score of the value against an EWMA mean and variance.
import { P_OUTLIER_ALPHA, P_OUTLIER_WARMUP, P_OUTLIER_Z, S_COUNT, S_OUT_MEAN, S_OUT_VAR } from '../layout'
import { get, param, ratio, ratioAbove1, set, verdict, warmupWeight } from './memory'

/**
 * Strength = |z| / zThreshold (0 during warm-up); updates the mean and variance after scoring. With
 * `verdictOnly`, a value > 1 exactly when the strength is (see verdict in memory.ts).
 */
@inline
export function outlierStep(x: f64, verdictOnly: bool): f64 {
  const n = get(S_COUNT)
  const mean = get(S_OUT_MEAN)
  const variance = get(S_OUT_VAR)
  const d = x - mean
  let strength: f64 = 0
  if (n >= param(P_OUTLIER_WARMUP)) {
    const excess = abs<f64>(d)
    const limit = Math.sqrt(variance) * param(P_OUTLIER_Z)
    strength = verdictOnly ? verdict(ratioAbove1(excess, limit)) : ratio(excess, limit)
  }
  const a = warmupWeight(n, param(P_OUTLIER_ALPHA))
  const step = a * d
  set(S_OUT_MEAN, mean + step)
  set(S_OUT_VAR, (1 - a) * (variance + d * step))
  return strength
}
