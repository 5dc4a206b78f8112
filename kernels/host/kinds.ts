// Verdict flags to kind names.
import {
  BIT_CONTEXT,
  BIT_DRIFT,
  BIT_NOVELTY,
  BIT_OUTLIER,
  BIT_SHAPE,
  BIT_SPIKE,
  BIT_STUCK,
  BIT_THRESHOLD,
} from '../layout.js'

export const DETECTOR_KINDS = [
  'threshold',
  'outlier',
  'spike',
  'drift',
  'stuck',
  'novelty',
  'context',
  'shape',
] as const
export type DetectorKind = (typeof DETECTOR_KINDS)[number]

const BITS: readonly [number, DetectorKind][] = [
  [BIT_THRESHOLD, 'threshold'],
  [BIT_OUTLIER, 'outlier'],
  [BIT_SPIKE, 'spike'],
  [BIT_DRIFT, 'drift'],
  [BIT_STUCK, 'stuck'],
  [BIT_NOVELTY, 'novelty'],
  [BIT_CONTEXT, 'context'],
  [BIT_SHAPE, 'shape'],
]

const cache: DetectorKind[][] = []
for (let flags = 0; flags < 256; flags++) cache.push(BITS.filter(([bit]) => flags & bit).map(([, k]) => k))

/** The kinds set in a verdict (a shared array: do not mutate). */
export function kindsOf(flags: number): readonly DetectorKind[] {
  return cache[flags & 255]!
}
