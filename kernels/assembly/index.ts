// edgewatch kernel: the detector stack for one series, run over a batch of (ts, value) samples.
// The host writes params, state and inputs into the fixed regions of kernels/layout.ts, calls
// process(n), and reads scores, verdict flags, closed windows and the new state back.
import {
  BIT_CONTEXT,
  BIT_DRIFT,
  BIT_NOVELTY,
  BIT_OUTLIER,
  BIT_SHAPE,
  BIT_SPIKE,
  BIT_STUCK,
  BIT_THRESHOLD,
  BIT_WINDOW,
  BUCKETS_MAX,
  CAPACITY,
  FLAGS_PTR,
  P_CONTEXT_WARMUP,
  P_CONTEXT_WEIGHT,
  P_ENABLED,
  P_REFRACTORY_RANK,
  P_REFRACTORY_SAMPLES,
  PARAMS_PTR,
  S_COUNT,
  S_PREV,
  S_REFRACTORY,
  S_VERSION,
  S_WIN_CURRENT,
  SCORE_PTR,
  STATE_COUNT,
  STATE_PTR,
  STATE_VERSION,
  TS_PTR,
  VALUE_PTR,
  WINDOW_CAPACITY,
  WINDOW_PTR,
} from '../layout'
import { contextStep } from './context'
import { driftStep } from './drift'
import { get, param, set } from './memory'
import { noveltyStep } from './novelty'
import { outlierStep } from './outlier'
import { shapeStep } from './shape'
import { spikeStep } from './spike'
import { stuckStep } from './stuck'
import { thresholdStep } from './threshold'
import { forgetBucketStats, windowStep } from './window'

let windowsOut: i32 = 0

/**
 * One event ranks once: after a verdict whose rank reaches P_REFRACTORY_RANK, the next
 * P_REFRACTORY_SAMPLES samples rank 0 (their verdicts stand; only the score's rank is dropped).
 */
@inline
function refractory(rank: f64, flags: i32): f64 {
  const left = get(S_REFRACTORY)
  if (left > 0) {
    set(S_REFRACTORY, left - 1)
    return 0
  }
  if (flags != 0 && rank >= param(P_REFRACTORY_RANK)) set(S_REFRACTORY, param(P_REFRACTORY_SAMPLES))
  return rank
}

/** Squashes a detector strength into [0, 1): 0.5 at the firing threshold (strength 1). */
@inline
function squash(strength: f64): f64 {
  const s2 = strength * strength
  return s2 / (1 + s2)
}

/** Resets the state block to a series that has seen nothing. */
export function reset(): void {
  for (let i = 0; i < STATE_COUNT; i++) set(i, 0)
  set(S_VERSION, STATE_VERSION)
  set(S_WIN_CURRENT, NaN)
}

/**
 * Processes samples 0..n-1 of the input regions. Returns how many were processed: fewer than n
 * only when the window output region is full (read the windows, then call again for the rest).
 */
export function process(from: i32, n: i32): i32 {
  const enabled = <i32>load<f64>(PARAMS_PTR + (P_ENABLED << 3))
  // With novelty, context or shape on, the score ranks by them: the other detectors' strengths only
  // decide their verdicts, and best is not used.
  const ranked = (enabled & (BIT_NOVELTY | BIT_CONTEXT | BIT_SHAPE)) != 0
  windowsOut = 0
  if (enabled & BIT_WINDOW) forgetBucketStats()
  for (let i = from; i < n; i++) {
    const ts = load<f64>(TS_PTR + (i << 3))
    const x = load<f64>(VALUE_PTR + (i << 3))
    if (enabled & BIT_WINDOW) {
      if (windowsOut + BUCKETS_MAX > WINDOW_CAPACITY) return i
      windowsOut += windowStep(ts, x, windowsOut)
    }
    let flags: i32 = 0
    let best: f64 = 0
    if (enabled & BIT_THRESHOLD) {
      const s = thresholdStep(x)
      if (s > 1) flags |= BIT_THRESHOLD
      best = max<f64>(best, s)
    }
    if (enabled & BIT_OUTLIER) {
      const s = outlierStep(x, ranked)
      if (s > 1) flags |= BIT_OUTLIER
      best = max<f64>(best, s)
    }
    const seen = get(S_COUNT)
    if (enabled & BIT_SPIKE && seen > 0) {
      const s = spikeStep(x, ranked)
      if (s > 1) flags |= BIT_SPIKE
      best = max<f64>(best, s)
    }
    if (enabled & BIT_DRIFT) {
      const s = driftStep(x, ranked)
      if (s > 1) flags |= BIT_DRIFT
      best = max<f64>(best, s)
    }
    if (enabled & BIT_STUCK) {
      const s = stuckStep(x)
      if (s > 1) flags |= BIT_STUCK
      best = max<f64>(best, s)
    }
    let score: f64
    if (ranked) {
      // Ranked by novelty, context and shape: 0.5 for any verdict, plus half of a rank in [0, 1):
      // the squashed novelty strength, blended with the share of new contexts at weight w as
      // (squash + w * share) / (1 + w), raised to a shape alarm's strength.
      let rank: f64 = 0
      if (enabled & BIT_NOVELTY) {
        const s = noveltyStep(x, seen)
        if (s > 1) flags |= BIT_NOVELTY
        rank = squash(s)
      }
      if (enabled & BIT_CONTEXT) {
        const c = contextStep(ts, x, seen)
        if (c >= 1 && seen >= param(P_CONTEXT_WARMUP)) flags |= BIT_CONTEXT
        const w = param(P_CONTEXT_WEIGHT)
        rank = (rank + w * c) / (1 + w)
      }
      if (enabled & BIT_SHAPE) {
        const s = shapeStep(x, seen)
        if (s > 0) {
          flags |= BIT_SHAPE
          rank = max<f64>(rank, s)
        }
      }
      rank = refractory(rank, flags)
      score = 0.5 * (<f64>(flags != 0) + rank)
    } else {
      score = squash(best)
    }
    set(S_PREV, x)
    set(S_COUNT, seen + 1)
    store<f64>(SCORE_PTR + (i << 3), score)
    store<u8>(FLAGS_PTR + i, <u8>flags)
  }
  return n
}

export function windowCount(): i32 {
  return windowsOut
}

export function paramsPtr(): i32 {
  return PARAMS_PTR
}
export function statePtr(): i32 {
  return STATE_PTR
}
export function tsPtr(): i32 {
  return TS_PTR
}
export function valuePtr(): i32 {
  return VALUE_PTR
}
export function scorePtr(): i32 {
  return SCORE_PTR
}
export function flagsPtr(): i32 {
  return FLAGS_PTR
}
export function windowPtr(): i32 {
  return WINDOW_PTR
}
export function capacity(): i32 {
  return CAPACITY
}
export function windowCapacity(): i32 {
  return WINDOW_CAPACITY
}

// The per-device state detector, over rows of a device's metrics (see state.ts).
export { processState, resetState } from './state'
