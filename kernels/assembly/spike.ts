// Spike: a jump between consecutive samples that is large against the recent spread of jumps.
// The spread is an EWMA of |jump|, each jump clipped at k * spread so spikes do not inflate it.
// A repeated value (jump 0) leaves the spread alone: a sensor that held still for a while must not
// make its next ordinary step look like a spike.
import { P_SPIKE_ALPHA, P_SPIKE_K, P_SPIKE_WARMUP, S_PREV, S_SPIKE_COUNT, S_SPIKE_SPREAD } from '../layout'
import { get, param, ratio, ratioAbove1, set, verdict, warmupWeight } from './memory'

/**
 * Strength = |jump| / (k * spread), 0 during warm-up. Call only when a previous sample exists. With
 * `verdictOnly`, a value > 1 exactly when the strength is (see verdict in memory.ts).
 */
@inline
export function spikeStep(x: f64, verdictOnly: bool): f64 {
  const jump = abs<f64>(x - get(S_PREV))
  const n = get(S_SPIKE_COUNT)
  const spread = get(S_SPIKE_SPREAD)
  const limit = param(P_SPIKE_K) * spread
  let strength: f64 = 0
  let clipped = jump
  if (n >= param(P_SPIKE_WARMUP)) {
    strength = verdictOnly ? verdict(ratioAbove1(jump, limit)) : ratio(jump, limit)
    clipped = min<f64>(jump, limit)
  }
  if (jump == 0) return strength
  const a = warmupWeight(n, param(P_SPIKE_ALPHA))
  set(S_SPIKE_SPREAD, spread + a * (clipped - spread))
  set(S_SPIKE_COUNT, n + 1)
  return strength
}
