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

/** The EWMA weight after n samples: 1/(n+1) (the plain mean) until that falls below alpha. */
@inline
export function warmupWeight(n: f64, alpha: f64): f64 {
  return (n + 1) * alpha < 1 ? 1 / (n + 1) : alpha
}
