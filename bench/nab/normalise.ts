// Normalisation: 0 is the null detector, which never fires and so misses every window
// (raw = -fnWeight per window), 100 the perfect one, which detects every window at its first row
// (raw = +tpWeight per window) and nothing else.

import { NabInputError } from './errors.js'
import type { CostMatrix } from './profiles.js'

export interface Bounds {
  nullRaw: number
  perfectRaw: number
}

export function bounds(windowCount: number, costs: CostMatrix): Bounds {
  return { nullRaw: -costs.fnWeight * windowCount, perfectRaw: costs.tpWeight * windowCount }
}

export function normalise(raw: number, windowCount: number, costs: CostMatrix): number {
  const { nullRaw, perfectRaw } = bounds(windowCount, costs)
  if (perfectRaw === nullRaw) throw new NabInputError('cannot normalise: the files hold no anomaly window')
  return (100 * (raw - nullRaw)) / (perfectRaw - nullRaw)
}
