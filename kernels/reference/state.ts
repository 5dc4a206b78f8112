// Plain TypeScript reference of the per-device `state` detector (kernels/assembly/state.ts), used
// only by tests to check the Wasm. Same formulas, same order of floating-point operations, written
// for clarity with arrays instead of linear memory.
import { STATE_METRICS_MAX } from '../layout.js'

export interface StateParams {
  /** Rows of each device learnt as normal before it is scored. */
  baseline: number
  /** The bound is margin times the largest distance seen in the baseline's second half. */
  margin: number
  /** Added to the correlation matrix's diagonal: how much a broken correlation weighs. */
  ridge: number
  /** Smallest spread of a metric, relative to its mean's magnitude (quantised or constant metrics). */
  floor: number
  /** After the baseline, the weight with which a row that is not flagged moves the means (0: frozen). */
  adapt: number
}

export interface StateStep {
  /** Squashed distance over the bound, in [0, 1): 0.5 at the bound. */
  score: number
  flagged: boolean
  /** Metrics by their share of the distance, largest first, at most three (positive shares only). */
  top: number[]
}

const M = STATE_METRICS_MAX

export class ReferenceState {
  private rows = 0
  /** The baseline's length, fixed by the params when the device starts. */
  private baseline = 0
  private columns = 0
  private readonly count = new Float64Array(M)
  private readonly mean = new Float64Array(M)
  private readonly comoment = new Float64Array(M * M)
  /** The fitted model: spread per metric and the Cholesky factor of the regularised correlation. */
  private readonly spread = new Float64Array(M)
  private readonly chol = new Float64Array(M * M)
  /** Reciprocals of the spreads and of the factor's diagonal: a row is scored without dividing. */
  private readonly scale = new Float64Array(M)
  private readonly pivot = new Float64Array(M)
  private fitted = 0
  private calibrationMax = 0
  private bound = 0

  constructor(private readonly p: StateParams) {}

  /** One row of `d` metric values (NaN: missing). */
  step(row: ArrayLike<number>, d: number): StateStep {
    if (this.rows === 0 && this.baseline === 0) this.baseline = this.p.baseline
    const b = this.baseline
    const half = Math.floor(b / 2)
    let score = 0
    let flagged = false
    let top: number[] = []
    if (this.rows < b) {
      if (this.fitted > 0) {
        const distance = this.distance(row)
        if (distance > this.calibrationMax) this.calibrationMax = distance
      }
      this.learn(row, d)
      this.rows++
      if (this.rows === half && half >= 2) this.fit()
      if (this.rows === b) {
        this.fit()
        this.bound = this.p.margin * this.calibrationMax
      }
    } else {
      this.rows++
      if (this.fitted >= 2) {
        const w = new Float64Array(M)
        const z = new Float64Array(M)
        const distance = this.solve(row, z, w)
        const strength = ratio(distance, this.bound)
        score = (strength * strength) / (1 + strength * strength)
        flagged = this.bound > 0 ? distance > this.bound : distance > 0
        if (flagged) {
          this.backSolve(w)
          top = this.topShares(z, w)
        } else this.follow(row)
      }
    }
    return { score, flagged, top }
  }

  private learn(row: ArrayLike<number>, d: number): void {
    const n = Math.min(d, M)
    // Missing metrics keep a deviation of 0: they move neither their mean nor any co-moment.
    const before = new Float64Array(M)
    const after = new Float64Array(M)
    for (let i = 0; i < n; i++) {
      const x = row[i]!
      if (!Number.isFinite(x)) continue
      if (i + 1 > this.columns) this.columns = i + 1
      this.count[i] = this.count[i]! + 1
      const delta = x - this.mean[i]!
      this.mean[i] = this.mean[i]! + delta / this.count[i]!
      before[i] = delta
      after[i] = x - this.mean[i]!
    }
    for (let i = 0; i < n; i++) {
      if (before[i] === 0) continue
      for (let j = 0; j < n; j++)
        this.comoment[i * M + j] = this.comoment[i * M + j]! + before[i]! * after[j]!
    }
  }

  /** Moves each present metric's mean towards the row by the adapt weight (a normal row only). */
  private follow(row: ArrayLike<number>): void {
    const a = this.p.adapt
    if (a <= 0) return
    for (let i = 0; i < this.fitted; i++) {
      const x = row[i]!
      if (Number.isFinite(x)) this.mean[i] = this.mean[i]! + a * (x - this.mean[i]!)
    }
  }

  /** The spreads and the Cholesky factor of the correlation (plus the ridge) of the rows so far. */
  private fit(): void {
    const d = this.columns
    const s = this.spread
    for (let i = 0; i < d; i++) {
      const n = this.count[i]!
      const variance = n > 1 ? this.comoment[i * M + i]! / (n - 1) : Number.POSITIVE_INFINITY
      s[i] = Math.max(Math.sqrt(variance), this.p.floor * Math.abs(this.mean[i]!), 1e-9)
    }
    const L = this.chol
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let r: number
        if (i === j) r = 1 + this.p.ridge
        else {
          const n = Math.min(this.count[i]!, this.count[j]!)
          const c = n > 1 ? this.comoment[i * M + j]! / (n - 1) / (s[i]! * s[j]!) : 0
          r = Math.max(-1, Math.min(1, c))
        }
        for (let k = 0; k < j; k++) r -= L[i * M + k]! * L[j * M + k]!
        if (i === j) L[i * M + i] = Math.sqrt(r > this.p.ridge ? r : this.p.ridge)
        else L[i * M + j] = r / L[j * M + j]!
      }
      this.scale[i] = 1 / s[i]!
      this.pivot[i] = 1 / L[i * M + i]!
    }
    this.fitted = d
  }

  private distance(row: ArrayLike<number>): number {
    return this.solve(row, new Float64Array(M), new Float64Array(M))
  }

  /**
   * The squared Mahalanobis distance of the row per metric, through the Cholesky factor R = L Lᵀ:
   * z (standardised row, 0 where missing) and y = L⁻¹ z into w. Returns zᵀ R⁻¹ z / d = yᵀy / d.
   */
  private solve(row: ArrayLike<number>, z: Float64Array, w: Float64Array): number {
    const d = this.fitted
    const L = this.chol
    for (let i = 0; i < d; i++) {
      const x = row[i]!
      z[i] = Number.isFinite(x) ? (x - this.mean[i]!) * this.scale[i]! : 0
    }
    let sum = 0
    for (let i = 0; i < d; i++) {
      let y = z[i]!
      for (let k = 0; k < i; k++) y -= L[i * M + k]! * w[k]!
      y = y * this.pivot[i]!
      w[i] = y
      sum += y * y
    }
    return sum / d
  }

  /** w = R⁻¹ z = L⁻ᵀ y in place (a flagged row only: its metrics' shares). */
  private backSolve(w: Float64Array): void {
    const d = this.fitted
    const L = this.chol
    for (let i = d - 1; i >= 0; i--) {
      let y = w[i]!
      for (let k = i + 1; k < d; k++) y -= L[k * M + i]! * w[k]!
      w[i] = y / L[i * M + i]!
    }
  }

  private topShares(z: Float64Array, w: Float64Array): number[] {
    const picked: number[] = []
    for (let t = 0; t < 3; t++) {
      let best = -1
      let bestShare = 0
      for (let i = 0; i < this.fitted; i++) {
        const share = z[i]! * w[i]!
        if (share > bestShare && !picked.includes(i)) {
          best = i
          bestShare = share
        }
      }
      if (best < 0) break
      picked.push(best)
    }
    return picked
  }
}

const MAX_STRENGTH = 1e6
function ratio(num: number, den: number): number {
  return den > 0 ? Math.min(num / den, MAX_STRENGTH) : num > 0 ? MAX_STRENGTH : 0
}
