// Plain TypeScript reference of every detector, used only by tests to check the Wasm kernel.
// Written for clarity, one object per detector, from the same formulas as kernels/assembly.
import type { WindowFeature } from '../host/kernel.js'
import type { DetectorParams } from '../host/params.js'
import { ReferenceShape } from './shape.js'

const MAX_STRENGTH = 1e6
const ratio = (num: number, den: number) =>
  den > 0 ? Math.min(num / den, MAX_STRENGTH) : num > 0 ? MAX_STRENGTH : 0
const weight = (n: number, alpha: number) => ((n + 1) * alpha < 1 ? 1 / (n + 1) : alpha)

/** EWMA mean and variance whose weight is 1/(n+1) (the plain mean) until that falls below alpha. */
class Ewma {
  n = 0
  mean = 0
  variance = 0
  constructor(private readonly alpha: number) {}
  update(x: number): void {
    const d = x - this.mean
    const a = weight(this.n, this.alpha)
    const step = a * d
    this.mean = this.mean + step
    this.variance = (1 - a) * (this.variance + d * step)
    this.n += 1
  }
}

export class ReferenceSeries {
  private count = 0
  private prev = 0
  private readonly outlier: Ewma
  private spread = 0
  private spikeCount = 0
  private drift: Ewma
  private pos = 0
  private neg = 0
  private run = 0
  private rate = 0
  private rateAtStart = 0
  private lo = 0
  private hi = 0
  private envLo = 0
  private envHi = 0
  private ctxLo = 0
  private ctxHi = 0
  /** Levels of the last steps, most recent first. */
  private recent: number[] = []
  /** Contexts seen so far, by their bit index. */
  private contexts = new Set<number>()
  private readonly shape: ReferenceShape
  /** Samples left in the refractory period after a ranked alarm. */
  private refractory = 0
  private current: number | undefined
  private buckets = new Map<
    number,
    { n: number; shift: number; sum: number; sumsq: number; min: number; max: number }
  >()

  constructor(private readonly p: DetectorParams) {
    this.outlier = new Ewma(p.outlier.alpha)
    this.drift = new Ewma(p.drift.alpha)
    this.shape = new ReferenceShape(p.shape)
  }

  step(ts: number, x: number): { score: number; kinds: string[]; windows: WindowFeature[] } {
    const e = this.p.enabled
    const windows = e.window ? this.windowStep(ts, x) : []
    const strengths: [string, number][] = []
    if (e.threshold) strengths.push(['threshold', this.threshold(x)])
    if (e.outlier) strengths.push(['outlier', this.outlierStep(x)])
    if (e.spike && this.count > 0) strengths.push(['spike', this.spikeStep(x)])
    if (e.drift) strengths.push(['drift', this.driftStep(x)])
    if (e.stuck) strengths.push(['stuck', this.stuckStep(x)])
    const novelty = e.novelty ? this.noveltyStep(x) : 0
    if (e.novelty) strengths.push(['novelty', novelty])
    const context = e.context ? this.contextStep(ts, x) : 0
    const kinds = strengths.filter(([, s]) => s > 1).map(([k]) => k)
    if (e.context && context >= 1 && this.count >= this.p.context.warmup) kinds.push('context')
    const shape = e.shape ? this.shape.step(x, this.count) : 0
    if (shape > 0) kinds.push('shape')
    this.prev = x
    this.count += 1
    const squash = (s: number) => (s * s) / (1 + s * s)
    // With novelty, context or shape on, the score ranks by them: 0.5 for any verdict plus half a
    // rank in [0, 1): the squashed novelty strength blended with the share of new contexts, raised
    // to a shape alarm's strength; after a verdict ranked at least refractory.rank, the next
    // refractory.samples samples rank 0.
    let score: number
    if (e.novelty || e.context || e.shape) {
      let rank = e.novelty ? squash(novelty) : 0
      if (e.context) rank = (rank + this.p.context.weight * context) / (1 + this.p.context.weight)
      rank = Math.max(rank, shape)
      if (this.refractory > 0) {
        this.refractory -= 1
        rank = 0
      } else if (kinds.length > 0 && rank >= this.p.refractory.rank) {
        this.refractory = this.p.refractory.samples
      }
      score = 0.5 * ((kinds.length > 0 ? 1 : 0) + rank)
    } else {
      score = squash(strengths.reduce((m, [, s]) => Math.max(m, s), 0))
    }
    return { score, kinds, windows }
  }

  private threshold(x: number): number {
    const hi = this.p.threshold.hi ?? Number.POSITIVE_INFINITY
    const lo = this.p.threshold.lo ?? Number.NEGATIVE_INFINITY
    if (x > hi) return 1 + (x - hi) / Math.max(Math.abs(hi), 1)
    if (x < lo) return 1 + (lo - x) / Math.max(Math.abs(lo), 1)
    return 0
  }

  private outlierStep(x: number): number {
    const { z, warmup } = this.p.outlier
    const s =
      this.count >= warmup ? ratio(Math.abs(x - this.outlier.mean), Math.sqrt(this.outlier.variance) * z) : 0
    this.outlier.update(x)
    return s
  }

  private spikeStep(x: number): number {
    const { k, alpha, warmup } = this.p.spike
    const jump = Math.abs(x - this.prev)
    const limit = k * this.spread
    const warm = this.spikeCount >= warmup
    const s = warm ? ratio(jump, limit) : 0
    const clipped = warm ? Math.min(jump, limit) : jump
    if (jump === 0) return s
    const a = weight(this.spikeCount, alpha)
    this.spread = this.spread + a * (clipped - this.spread)
    this.spikeCount += 1
    return s
  }

  private driftStep(x: number): number {
    const { k, h, warmup } = this.p.drift
    if (this.drift.n >= warmup) {
      const d = x - this.drift.mean
      const z = ratio(Math.abs(d), Math.sqrt(this.drift.variance)) * (d < 0 ? -1 : 1)
      const pos = Math.max(0, this.pos + z - k)
      const neg = Math.max(0, this.neg - z - k)
      const s = Math.max(pos, neg) / h
      if (s > 1) {
        this.pos = 0
        this.neg = 0
        this.drift.mean = x
        this.drift.n = 1
        return s
      }
      this.pos = pos
      this.neg = neg
      this.drift.update(x)
      return s
    }
    this.drift.update(x)
    return 0
  }

  private stuckStep(x: number): number {
    const { n, minRate, alpha } = this.p.stuck
    const changed = this.count > 0 && x !== this.prev ? 1 : 0
    if (changed > 0 || this.count === 0) {
      this.rateAtStart = this.rate
      this.run = 1
    } else {
      this.run += 1
    }
    if (this.count > 0) this.rate = this.rate + alpha * (changed - this.rate)
    return this.run === n && this.rateAtStart >= minRate ? 1 + this.rateAtStart : 0
  }

  private noveltyStep(x: number): number {
    const { tol, warmup, decay } = this.p.novelty
    if (this.count === 0) {
      this.lo = this.hi = this.envLo = this.envHi = x
      return 0
    }
    let s = 0
    if (this.count >= warmup) {
      const excess = Math.max(x - this.hi, this.lo - x)
      const outside = Math.max(x - this.envHi, this.envLo - x)
      if (excess > 0) s = 0.5 + 0.5 * ratio(excess, tol * (this.hi - this.lo))
      else if (outside > 0) s = Math.min(0.1 * ratio(outside, this.envHi - this.envLo), 0.5)
    }
    this.lo = Math.min(this.lo, x)
    this.hi = Math.max(this.hi, x)
    this.envLo = Math.min(x, this.envLo + decay * (x - this.envLo))
    this.envHi = Math.max(x, this.envHi - decay * (this.envHi - x))
    return s
  }

  /** The share of this step's contexts never seen before (see kernels/assembly/context.ts). */
  private contextStep(ts: number, x: number): number {
    const { levels, lags, hours } = this.p.context
    if (this.count === 0) this.ctxLo = this.ctxHi = x
    this.ctxLo = Math.min(this.ctxLo, x)
    this.ctxHi = Math.max(this.ctxHi, x)
    const r = this.ctxHi > this.ctxLo ? ((x - this.ctxLo) / (this.ctxHi - this.ctxLo)) * levels : 0
    const q = r >= levels ? levels - 1 : r > 0 ? Math.trunc(r) : 0
    const keys: number[] = []
    for (let d = 1; d <= Math.min(this.count, lags); d++)
      keys.push(((d - 1) * levels + this.recent[d - 1]!) * levels + q)
    if (hours > 0) {
      const day = 86_400_000
      const f = ((ts - Math.floor(ts / day) * day) / day) * hours
      keys.push(lags * levels * levels + (f >= hours ? hours - 1 : f > 0 ? Math.trunc(f) : 0) * levels + q)
    }
    let novel = 0
    for (const k of keys) {
      if (!this.contexts.has(k)) novel++
      this.contexts.add(k)
    }
    this.recent.unshift(q)
    this.recent.length = Math.min(this.recent.length, lags)
    return keys.length > 0 ? novel / keys.length : 0
  }

  private windowStep(ts: number, x: number): WindowFeature[] {
    const slide = this.p.window.slideMs
    const k = this.p.window.ms / slide
    const out: WindowFeature[] = []
    if (this.current === undefined || !(ts < (this.current + 1) * slide)) {
      const bucket = Math.floor(ts / slide)
      if (this.current !== undefined) {
        const closed = Math.min(bucket - this.current, k)
        for (let end = this.current + 1; end <= this.current + closed; end++)
          out.push(this.window(end, k, slide))
      }
      this.current = bucket
      this.buckets.set(bucket, { n: 0, shift: x, sum: 0, sumsq: 0, min: Infinity, max: -Infinity })
      for (const old of this.buckets.keys()) if (old <= bucket - k) this.buckets.delete(old)
    }
    const b = this.buckets.get(this.current)!
    const d = x - b.shift
    b.n += 1
    b.sum += d
    b.sumsq += d * d
    b.min = Math.min(b.min, x)
    b.max = Math.max(b.max, x)
    return out
  }

  private window(end: number, k: number, slide: number): WindowFeature {
    let n = 0
    let mean = 0
    let m2 = 0
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    for (const [index, b] of this.buckets) {
      if (!(index >= end - k && index < end)) continue
      const bMean = b.shift + b.sum / b.n
      const bM2 = Math.max(0, b.sumsq - (b.sum * b.sum) / b.n)
      const total = n + b.n
      const delta = bMean - mean
      mean += (delta * b.n) / total
      m2 += bM2 + (delta * delta * n * b.n) / total
      n = total
      min = Math.min(min, b.min)
      max = Math.max(max, b.max)
    }
    return {
      start: (end - k) * slide,
      end: end * slide,
      count: n,
      mean,
      std: Math.sqrt(m2 / n),
      min,
      max,
      range: max - min,
    }
  }
}
