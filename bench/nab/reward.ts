// The scaled sigmoid that weighs each detection by where it falls relative to an anomaly window.
//
// A position y is measured in window lengths: y = -1 at the window's first row, y -> 0 at its last
// row, y > 0 after it. sigma(y) = 2 / (1 + e^(5y)) - 1 runs from ~+0.987 (early) through 0 (end of
// window) to ~-0.987 one window length after it, and is clamped to -1 beyond three window lengths.

export function scaledSigmoid(y: number): number {
  if (y > 3) return -1
  return 2 / (1 + Math.exp(5 * y)) - 1
}

const EARLIEST = scaledSigmoid(-1)

/** Row span of a window inside one file: first and last row index (inclusive). */
export interface WindowRows {
  first: number
  last: number
}

/**
 * Reward (before the profile's tpWeight) of a detection at `row` inside `window`. The position
 * counts the row itself, so the window's first row is at y = -1 and scores exactly 1.
 */
export function truePositiveReward(row: number, window: WindowRows): number {
  const length = window.last - window.first + 1
  return scaledSigmoid(-(window.last - row + 1) / length) / EARLIEST
}

/**
 * Value (before the profile's fpWeight; always negative) of a detection at `row` outside every
 * window. Measured from the end of the closest preceding window in units of (its length - 1); with no
 * preceding window it is -1. (A one-row window, where length - 1 is 0, uses units of one row.)
 */
export function falsePositiveValue(row: number, preceding: WindowRows | undefined): number {
  if (!preceding) return -1
  const span = Math.max(preceding.last - preceding.first, 1)
  return scaledSigmoid((row - preceding.last) / span)
}
