// The threshold search: the threshold that maximises the raw score summed over a set of files.
//
// Only the distinct anomaly scores of scored rows can change the result, so the search is exact:
// sort those rows by score, highest first, and lower the threshold one distinct score at a time,
// updating the total as each row becomes a detection. A window's reward changes only when a new
// detection is earlier than its earliest one so far. Sorting is done once per set of files and
// shared by every profile. Ties go to the higher threshold (fewer detections); when no threshold
// beats never firing, the answer is +Infinity.

import type { PreparedFile } from './prepare.js'
import type { CostMatrix } from './profiles.js'

export interface ThresholdChoice {
  threshold: number
  /** Raw score at that threshold, as summed during the sweep. */
  raw: number
}

export class ThresholdSweep {
  readonly windowCount: number
  private readonly order: Uint32Array
  private readonly score: Float64Array
  private readonly row: Int32Array
  private readonly window: Int32Array
  private readonly value: Float64Array

  constructor(files: readonly PreparedFile[]) {
    let n = 0
    for (const f of files) n += f.rows - f.probation
    this.score = new Float64Array(n)
    this.row = new Int32Array(n)
    this.window = new Int32Array(n)
    this.value = new Float64Array(n)
    let k = 0
    let windowBase = 0
    for (const f of files) {
      for (let i = f.probation; i < f.rows; i++, k++) {
        this.score[k] = f.scores[i]!
        this.row[k] = i
        const w = f.windowOf[i]!
        this.window[k] = w < 0 ? -1 : windowBase + w
        this.value[k] = f.value[i]!
      }
      windowBase += f.windows.length
    }
    this.windowCount = windowBase
    const score = this.score
    this.order = new Uint32Array(n).map((_, i) => i).sort((a, b) => score[b]! - score[a]!)
  }

  /** The best threshold for one cost matrix. */
  best(costs: CostMatrix): ThresholdChoice {
    const { order, score, row, window, value } = this
    const earliestRow = new Int32Array(this.windowCount).fill(-1)
    const earliestValue = new Float64Array(this.windowCount)
    let raw = -costs.fnWeight * this.windowCount
    let best: ThresholdChoice = { threshold: Number.POSITIVE_INFINITY, raw }
    let k = 0
    while (k < order.length) {
      const threshold = score[order[k]!]!
      for (; k < order.length && score[order[k]!] === threshold; k++) {
        const j = order[k]!
        const w = window[j]!
        if (w < 0) raw += costs.fpWeight * value[j]!
        else if (earliestRow[w]! < 0) {
          raw += costs.fnWeight + costs.tpWeight * value[j]!
          earliestRow[w] = row[j]!
          earliestValue[w] = value[j]!
        } else if (row[j]! < earliestRow[w]!) {
          raw += costs.tpWeight * (value[j]! - earliestValue[w]!)
          earliestRow[w] = row[j]!
          earliestValue[w] = value[j]!
        }
      }
      if (raw > best.raw) best = { threshold, raw }
    }
    return best
  }
}

/** Convenience: the best threshold for one cost matrix over `files`. */
export function optimiseThreshold(files: readonly PreparedFile[], costs: CostMatrix): ThresholdChoice {
  return new ThresholdSweep(files).best(costs)
}
