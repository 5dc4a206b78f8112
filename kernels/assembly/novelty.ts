// Novelty: a value outside the whole range the series has shown so far (all-time min and max), or,
// below firing, outside a recent envelope that shrinks towards the values at rate `decay`.
// It ranks the combined score: how new a value is for this series (see index.ts).
import {
  P_NOVELTY_DECAY,
  P_NOVELTY_TOL,
  P_NOVELTY_WARMUP,
  S_NOV_ENV_HI,
  S_NOV_ENV_LO,
  S_NOV_HI,
  S_NOV_LO,
} from '../layout'
import { get, param, ratio, set } from './memory'

/**
 * Strength 0.5 + 0.5 * excess / (tol * range) past the all-time range (> 1, fires, once the excess
 * passes tol * range); inside it, 0.1 * excess / width past the envelope, at most 0.5; 0 during warm-up.
 */
/** `n` is the number of samples the series has seen before x. */
@inline
export function noveltyStep(x: f64, n: f64): f64 {
  if (n == 0) {
    set(S_NOV_LO, x)
    set(S_NOV_HI, x)
    set(S_NOV_ENV_LO, x)
    set(S_NOV_ENV_HI, x)
    return 0
  }
  const lo = get(S_NOV_LO)
  const hi = get(S_NOV_HI)
  const envLo = get(S_NOV_ENV_LO)
  const envHi = get(S_NOV_ENV_HI)
  let strength: f64 = 0
  if (n >= param(P_NOVELTY_WARMUP)) {
    const excess = max<f64>(x - hi, lo - x)
    if (excess > 0) {
      strength = 0.5 + 0.5 * ratio(excess, param(P_NOVELTY_TOL) * (hi - lo))
    } else {
      const outside = max<f64>(x - envHi, envLo - x)
      if (outside > 0) strength = min<f64>(0.1 * ratio(outside, envHi - envLo), 0.5)
    }
  }
  const decay = param(P_NOVELTY_DECAY)
  if (x < lo) set(S_NOV_LO, x)
  else if (x > hi) set(S_NOV_HI, x)
  set(S_NOV_ENV_LO, min<f64>(x, envLo + decay * (x - envLo)))
  set(S_NOV_ENV_HI, max<f64>(x, envHi - decay * (envHi - x)))
  return strength
}
