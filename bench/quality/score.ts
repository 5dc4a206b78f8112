// How bench:quality scores a detector's flags (per row: non-zero = the row's verdict has a kind)
// against a generator's labels. Two measures:
// - seeded faults, as bench/faults/recall.ts counts them: a fault is found when a row in its span, or
//   within TOLERANCE rows of its start, is flagged; a clean row is one outside every span and every
//   tolerance window, after the warm-up; the false-alarm rate is flagged clean rows over clean rows;
// - persistent faults, point-wise: every row after the baseline is a positive (inside a span) or a
//   negative, and precision, recall and F1 count rows.
import { TOLERANCE } from '../faults/recall.js'
import { type FaultSpan, faultMask } from './spans.js'

export interface SeededCheck {
  faults: number
  detected: number
  byKind: Record<string, { faults: number; detected: number }>
  cleanRows: number
  falseAlarms: number
}

export function emptySeeded(): SeededCheck {
  return { faults: 0, detected: 0, byKind: {}, cleanRows: 0, falseAlarms: 0 }
}

/** Checks one stream's flags; rows before `skip` (the warm-up) are not counted as clean rows. */
export function checkSeeded(
  faults: readonly FaultSpan[],
  flags: ArrayLike<number>,
  skip: number,
): SeededCheck {
  const out = emptySeeded()
  const excluded = new Uint8Array(flags.length)
  for (const f of faults) {
    const until = Math.min(flags.length, Math.max(f.end, f.start + TOLERANCE))
    let hit = false
    for (let i = Math.max(0, f.start); i < until; i++) {
      excluded[i] = 1
      if (flags[i] !== 0) hit = true
    }
    const kind = kindTally(out, f.kind)
    kind.faults++
    out.faults++
    if (hit) {
      kind.detected++
      out.detected++
    }
  }
  for (let i = Math.max(0, skip); i < flags.length; i++) {
    if (excluded[i]) continue
    out.cleanRows++
    if (flags[i] !== 0) out.falseAlarms++
  }
  return out
}

/** The counts of one kind of fault, created at its first fault. */
function kindTally(check: SeededCheck, kind: string): { faults: number; detected: number } {
  let tally = check.byKind[kind]
  if (!tally) {
    tally = { faults: 0, detected: 0 }
    check.byKind[kind] = tally
  }
  return tally
}

/** Adds `b` into `a` (totals over streams). */
export function addSeeded(a: SeededCheck, b: SeededCheck): SeededCheck {
  addFields(a, b, ['faults', 'detected', 'cleanRows', 'falseAlarms'])
  for (const [kind, k] of Object.entries(b.byKind)) {
    addFields(kindTally(a, kind), k, ['faults', 'detected'])
  }
  return a
}

export interface PointCounts {
  tp: number
  fp: number
  fn: number
  tn: number
}

export function emptyCounts(): PointCounts {
  return { tp: 0, fp: 0, fn: 0, tn: 0 }
}

/** Point-wise counts of one run's flags from row `from` on (the rows before it are the baseline). */
export function countPoints(
  faults: readonly FaultSpan[],
  flags: ArrayLike<number>,
  from: number,
): PointCounts {
  const truth = faultMask(flags.length, faults)
  const c = emptyCounts()
  for (let i = Math.max(0, from); i < flags.length; i++) {
    const flagged = flags[i] !== 0
    if (truth[i]) flagged ? c.tp++ : c.fn++
    else flagged ? c.fp++ : c.tn++
  }
  return c
}

export function addCounts(a: PointCounts, b: PointCounts): PointCounts {
  addFields(a, b, ['tp', 'fp', 'fn', 'tn'])
  return a
}

/** a[k] += b[k] for each count `k`. */
function addFields<T extends Record<K, number>, K extends keyof T>(a: T, b: T, keys: K[]): void {
  for (const k of keys) (a[k] as number) += b[k]
}

export interface PointScore {
  precision: number
  recall: number
  f1: number
}

/** Precision, recall and F1 of pooled counts; a ratio with nothing to count is 0. */
export function pointScore(c: PointCounts): PointScore {
  const precision = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : 0
  const recall = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : 0
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0
  return { precision, recall, f1 }
}
