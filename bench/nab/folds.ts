// The 2-fold figure: files sorted by name, alternate files in each half; per profile the threshold
// is chosen on one half and the other half is scored at it, both ways round.

import { scoreAtThreshold } from './evaluate.js'
import { ThresholdSweep } from './optimise.js'
import type { PreparedFile } from './prepare.js'
import type { Profile } from './profiles.js'

export interface FoldScore {
  /** Normalised score of the test half, per profile. */
  scores: Record<string, number>
  /** The threshold chosen on the training half, per profile (null: never fire). */
  thresholds: Record<string, number | null>
}

export interface TwoFold {
  folds: [FoldScore, FoldScore]
  mean: Record<string, number>
}

/** Halves by alternate names: [even positions, odd positions] of the files sorted by name. */
export function splitAlternate<T extends { name: string }>(files: readonly T[]): [T[], T[]] {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return [sorted.filter((_, i) => i % 2 === 0), sorted.filter((_, i) => i % 2 === 1)]
}

function trainTest(train: PreparedFile[], test: PreparedFile[], profiles: readonly Profile[]): FoldScore {
  const sweep = new ThresholdSweep(train)
  const scores: Record<string, number> = {}
  const thresholds: Record<string, number | null> = {}
  for (const p of profiles) {
    const threshold = sweep.best(p).threshold
    scores[p.name] = scoreAtThreshold(test, p, threshold).normalised
    thresholds[p.name] = Number.isFinite(threshold) ? threshold : null
  }
  return { scores, thresholds }
}

export function twoFold(files: readonly PreparedFile[], profiles: readonly Profile[]): TwoFold {
  const [a, b] = splitAlternate(files)
  const folds: [FoldScore, FoldScore] = [trainTest(a, b, profiles), trainTest(b, a, profiles)]
  const mean = Object.fromEntries(
    profiles.map((p) => [p.name, (folds[0].scores[p.name]! + folds[1].scores[p.name]!) / 2]),
  )
  return { folds, mean }
}
