// Typed access to the params and state blocks in linear memory.
import { PARAMS_PTR, STATE_PTR } from '../layout'

@inline
export function param(slot: i32): f64 {
  return load<f64>(PARAMS_PTR + (slot << 3))
}

@inline
export function get(slot: i32): f64 {
  return load<f64>(STATE_PTR + (slot << 3))
}

@inline
export function set(slot: i32, value: f64): void {
  store<f64>(STATE_PTR + (slot << 3), value)
}

/** Strength above which a detector is at its cap (keeps scores finite when a spread is zero). */
export const MAX_STRENGTH: f64 = 1e6

@inline
export function ratio(numerator: f64, denominator: f64): f64 {
  if (denominator > 0) return min<f64>(numerator / denominator, MAX_STRENGTH)
  return numerator > 0 ? MAX_STRENGTH : 0
}

/**
 * Exactly ratio(numerator, denominator) > 1, without the division. For a denominator d > 0 the
 * rounded quotient n / d exceeds 1 exactly when n > d: if n > d, n is at least d + ulp(d), so the
 * exact quotient is at least 1 + 2^-52 / m (m in [1, 2) the significand of d), above the midpoint
 * 1 + 2^-53, and rounds above 1; if n <= d (or NaN) it does not. Otherwise ratio is MAX_STRENGTH > 1
 * or 0.
 */
@inline
export function ratioAbove1(numerator: f64, denominator: f64): bool {
  return denominator > 0 ? numerator > denominator : numerator > 0
}

/** Exactly numerator / denominator > 1: without the division when denominator > 0 (see ratioAbove1). */
@inline
export function quotientAbove1(numerator: f64, denominator: f64): bool {
  return denominator > 0 ? numerator > denominator : numerator / denominator > 1
}

/**
 * A strength for a verdict only: 2 when `fires`, else 0. With novelty or context on, the score ranks
 * by them and the other detectors' strengths only decide their verdicts (strength > 1), which they
 * decide exactly without dividing (see ratioAbove1).
 */
@inline
export function verdict(fires: bool): f64 {
  return fires ? 2 : 0
}

/** The EWMA weight after n samples: 1/(n+1) (the plain mean) until that falls below alpha. */
@inline
export function warmupWeight(n: f64, alpha: f64): f64 {
  return (n + 1) * alpha < 1 ? 1 / (n + 1) : alpha
}
