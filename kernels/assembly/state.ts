// The per-device `state` detector: how far a device's row of metrics is from the normal state it learnt.
// During a baseline (the first DS_BASELINE rows of the device) it learns each metric's mean and the
// metrics' co-moments. Half-way it fits a first model and measures the baseline's second half with it:
// the largest distance seen, times the margin, is the bound. At the end it fits the model on the whole
// baseline. Afterwards each row's distance is zᵀ R⁻¹ z / d: z the row standardised by the baseline's
// spreads (missing metrics at their mean), R the baseline's correlation with a ridge on its diagonal.
// A row over the bound is flagged, for as long as the device stays there; a row under it moves the
// means by the adapt weight, so slow normal change (a daily cycle, the weather) is followed while an
// abnormal state is not learnt. A device whose baseline saw fewer than two metrics is never scored.
// Only sqrt, + - * / are used: every host gets the same bits.
import {
  DEV_PARAMS_PTR,
  DEV_ROWS_PTR,
  DEV_SCORE_PTR,
  DEV_SCRATCH_PTR,
  DEV_STATE_PTR,
  DEV_VERDICT_PTR,
  DEVICE_STATE_COUNT,
  DEVICE_STATE_VERSION,
  DS_BASELINE,
  DS_BOUND,
  DS_CAL_MAX,
  DS_CHOL,
  DS_COLUMNS,
  DS_COMOMENT,
  DS_COUNT,
  DS_FITTED,
  DS_MEAN,
  DS_PIVOT,
  DS_ROWS,
  DS_SCALE,
  DS_SPREAD,
  DS_VERSION,
  NO_METRIC,
  SP_ADAPT,
  SP_BASELINE,
  SP_FLOOR,
  SP_MARGIN,
  SP_RIDGE,
  STATE_METRICS_MAX,
} from '../layout'
import { MAX_STRENGTH } from './memory'

const M = STATE_METRICS_MAX
/** Scratch vectors: deviations before and after a mean update, z, and w = R⁻¹ z. */
const BEFORE = DEV_SCRATCH_PTR
const AFTER = DEV_SCRATCH_PTR + M * 8
const Z = DEV_SCRATCH_PTR + 2 * M * 8
const W = DEV_SCRATCH_PTR + 3 * M * 8

@inline
function sp(slot: i32): f64 {
  return load<f64>(DEV_PARAMS_PTR + (slot << 3))
}
@inline
function ds(slot: i32): f64 {
  return load<f64>(DEV_STATE_PTR + (slot << 3))
}
@inline
function dsSet(slot: i32, value: f64): void {
  store<f64>(DEV_STATE_PTR + (slot << 3), value)
}
@inline
function vec(base: usize, i: i32): f64 {
  return load<f64>(base + (<usize>i << 3))
}
@inline
function vecSet(base: usize, i: i32, value: f64): void {
  store<f64>(base + (<usize>i << 3), value)
}

/** Resets the device state to one that has seen nothing (its baseline length comes with its first row). */
export function resetState(): void {
  for (let i = 0; i < DEVICE_STATE_COUNT; i++) dsSet(i, 0)
  dsSet(DS_VERSION, DEVICE_STATE_VERSION)
}

/** Processes rows 0..n-1 of `d` metrics each from the rows region; writes scores and verdict words. */
export function processState(n: i32, d: i32): void {
  if (ds(DS_ROWS) == 0 && ds(DS_BASELINE) == 0) dsSet(DS_BASELINE, sp(SP_BASELINE))
  const cols = min<i32>(d, M)
  for (let r = 0; r < n; r++) {
    const row = DEV_ROWS_PTR + (<usize>(r * d) << 3)
    let score: f64 = 0
    let verdict: u32 = 0
    const b = ds(DS_BASELINE)
    const rows = ds(DS_ROWS)
    if (rows < b) {
      if (ds(DS_FITTED) > 0) {
        const distance = solve(row)
        if (distance > ds(DS_CAL_MAX)) dsSet(DS_CAL_MAX, distance)
      }
      learn(row, cols)
      dsSet(DS_ROWS, rows + 1)
      const half = Math.floor(b / 2)
      if (rows + 1 == half && half >= 2) fit()
      if (rows + 1 == b) {
        fit()
        dsSet(DS_BOUND, sp(SP_MARGIN) * ds(DS_CAL_MAX))
      }
    } else {
      dsSet(DS_ROWS, rows + 1)
      // Multivariate only: a device of one metric is the series detectors' (they do not freeze).
      if (ds(DS_FITTED) >= 2) {
        const distance = solve(row)
        const bound = ds(DS_BOUND)
        const strength =
          bound > 0 ? min<f64>(distance / bound, MAX_STRENGTH) : distance > 0 ? MAX_STRENGTH : 0
        score = (strength * strength) / (1 + strength * strength)
        const flagged = bound > 0 ? distance > bound : distance > 0
        if (flagged) {
          backSolve()
          verdict = 1 | (topShares() << 8)
        }
        else follow(row)
      }
    }
    store<f64>(DEV_SCORE_PTR + (<usize>r << 3), score)
    store<u32>(DEV_VERDICT_PTR + (<usize>r << 2), verdict)
  }
}

/** Welford's update of each present metric's mean and of the co-moments (missing: no deviation). */
function learn(row: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const x = vec(row, i)
    vecSet(BEFORE, i, 0)
    vecSet(AFTER, i, 0)
    if (!isFinite<f64>(x)) continue
    // A metric joins the model with its first value, whatever the batches.
    if (<f64>(i + 1) > ds(DS_COLUMNS)) dsSet(DS_COLUMNS, i + 1)
    const count = ds(DS_COUNT + i) + 1
    dsSet(DS_COUNT + i, count)
    const delta = x - ds(DS_MEAN + i)
    const mean = ds(DS_MEAN + i) + delta / count
    dsSet(DS_MEAN + i, mean)
    vecSet(BEFORE, i, delta)
    vecSet(AFTER, i, x - mean)
  }
  for (let i = 0; i < n; i++) {
    const before = vec(BEFORE, i)
    if (before == 0) continue
    const at = DS_COMOMENT + i * M
    for (let j = 0; j < n; j++) dsSet(at + j, ds(at + j) + before * vec(AFTER, j))
  }
}

/** A normal row moves each present metric's mean towards it by the adapt weight. */
function follow(row: usize): void {
  const a = sp(SP_ADAPT)
  if (a <= 0) return
  const d = <i32>ds(DS_FITTED)
  for (let i = 0; i < d; i++) {
    const x = vec(row, i)
    if (isFinite<f64>(x)) dsSet(DS_MEAN + i, ds(DS_MEAN + i) + a * (x - ds(DS_MEAN + i)))
  }
}

/** The spreads, and the Cholesky factor of the correlation plus the ridge, of the rows so far. */
function fit(): void {
  const d = <i32>ds(DS_COLUMNS)
  const ridge = sp(SP_RIDGE)
  const floor = sp(SP_FLOOR)
  for (let i = 0; i < d; i++) {
    const n = ds(DS_COUNT + i)
    // A metric with fewer than two values has no spread yet: an infinite one keeps it out (z = 0).
    const variance = n > 1 ? ds(DS_COMOMENT + i * M + i) / (n - 1) : Infinity
    dsSet(DS_SPREAD + i, max<f64>(max<f64>(Math.sqrt(variance), floor * Math.abs(ds(DS_MEAN + i))), 1e-9))
  }
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let r: f64
      if (i == j) r = 1 + ridge
      else {
        const n = min<f64>(ds(DS_COUNT + i), ds(DS_COUNT + j))
        const c =
          n > 1 ? ds(DS_COMOMENT + i * M + j) / (n - 1) / (ds(DS_SPREAD + i) * ds(DS_SPREAD + j)) : 0
        r = max<f64>(-1, min<f64>(1, c))
      }
      for (let k = 0; k < j; k++) r -= ds(DS_CHOL + i * M + k) * ds(DS_CHOL + j * M + k)
      if (i == j) dsSet(DS_CHOL + i * M + i, Math.sqrt(r > ridge ? r : ridge))
      else dsSet(DS_CHOL + i * M + j, r / ds(DS_CHOL + j * M + j))
    }
    dsSet(DS_SCALE + i, 1 / ds(DS_SPREAD + i))
    dsSet(DS_PIVOT + i, 1 / ds(DS_CHOL + i * M + i))
  }
  dsSet(DS_FITTED, d)
}

/** zᵀ R⁻¹ z / d for the row, leaving z and y = L⁻¹ z in the scratch vectors (backSolve makes w). */
function solve(row: usize): f64 {
  const d = <i32>ds(DS_FITTED)
  for (let i = 0; i < d; i++) {
    const x = vec(row, i)
    vecSet(Z, i, isFinite<f64>(x) ? (x - ds(DS_MEAN + i)) * ds(DS_SCALE + i) : 0)
  }
  let sum: f64 = 0
  for (let i = 0; i < d; i++) {
    let y = vec(Z, i)
    for (let k = 0; k < i; k++) y -= ds(DS_CHOL + i * M + k) * vec(W, k)
    y = y * ds(DS_PIVOT + i)
    vecSet(W, i, y)
    sum += y * y
  }
  return sum / d
}

/** w = R⁻¹ z = L⁻ᵀ y, in place: only for a flagged row, whose metrics' shares it gives. */
function backSolve(): void {
  const d = <i32>ds(DS_FITTED)
  for (let i = d - 1; i >= 0; i--) {
    let y = vec(W, i)
    for (let k = i + 1; k < d; k++) y -= ds(DS_CHOL + k * M + i) * vec(W, k)
    vecSet(W, i, y / ds(DS_CHOL + i * M + i))
  }
}

/** The three metrics with the largest positive shares z_i·w_i of the distance, packed a byte each. */
function topShares(): u32 {
  const d = <i32>ds(DS_FITTED)
  let packed: u32 = 0
  let taken: u32 = 0
  for (let t = 0; t < 3; t++) {
    let best: i32 = -1
    let bestShare: f64 = 0
    for (let i = 0; i < d; i++) {
      const share = vec(Z, i) * vec(W, i)
      if (share > bestShare && (taken & (1 << i)) == 0) {
        best = i
        bestShare = share
      }
    }
    const index: u32 = best < 0 ? NO_METRIC : <u32>best
    packed |= index << (8 * t)
    if (best >= 0) taken |= 1 << best
  }
  return packed
}
