// Threshold: a value above or below the configured limits.
import { P_THRESHOLD_HI, P_THRESHOLD_LO } from '../layout'
import { param } from './memory'

/** Strength > 1 when the value is outside [lo, hi], else 0. */
@inline
export function thresholdStep(x: f64): f64 {
  const hi = param(P_THRESHOLD_HI)
  const lo = param(P_THRESHOLD_LO)
  if (x > hi) return 1 + (x - hi) / max<f64>(abs<f64>(hi), 1)
  if (x < lo) return 1 + (lo - x) / max<f64>(abs<f64>(lo), 1)
  return 0
}
