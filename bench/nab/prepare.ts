// Lays one detector output over its file's windows, once, so that scoring at any threshold and the
// threshold search are simple passes over arrays.
//
// A window covers the rows whose timestamp lies within [start, end]; those rows must be contiguous.
// Every scored row (past the probationary period) gets a value: inside a window, its true-positive
// reward; outside, its false-positive value, measured from the closest preceding window.

import { NabInputError } from './errors.js'
import { PROBATION_FRACTION, probationLength } from './probation.js'
import { falsePositiveValue, truePositiveReward, type WindowRows } from './reward.js'
import type { Window } from './windows.js'

/** A detector's output for one data file: one anomaly score per row, timestamps in epoch ms. */
export interface DetectorOutput {
  timestamps: ArrayLike<number>
  scores: ArrayLike<number>
}

export interface PreparedFile {
  name: string
  rows: number
  /** Rows [0, probation) are not scored. */
  probation: number
  scores: Float64Array
  /** Row span of each window, in order. */
  windows: WindowRows[]
  /** Per row: index of the window holding it, or -1. */
  windowOf: Int32Array
  /** Per row: truePositiveReward inside a window, falsePositiveValue outside. */
  value: Float64Array
}

export interface PrepareOptions {
  probationFraction?: number
}

export function prepareFile(
  name: string,
  output: DetectorOutput,
  windows: readonly Window[],
  options: PrepareOptions = {},
): PreparedFile {
  const { timestamps } = output
  const rows = timestamps.length
  if (output.scores.length !== rows) {
    throw new NabInputError(`${name}: ${rows} timestamps but ${output.scores.length} anomaly scores`)
  }
  if (rows === 0) throw new NabInputError(`${name}: no rows`)
  const scores = Float64Array.from(output.scores)
  for (let i = 0; i < rows; i++) {
    if (!Number.isFinite(scores[i])) throw new NabInputError(`${name}: row ${i} has no finite anomaly score`)
  }

  const spans = windows.map((w, k) => locateWindow(name, k, w, timestamps))
  for (let k = 1; k < spans.length; k++) {
    if (spans[k]!.first <= spans[k - 1]!.last) {
      throw new NabInputError(`${name}: window ${k} does not come after window ${k - 1} in row order`)
    }
  }

  const windowOf = new Int32Array(rows).fill(-1)
  const value = new Float64Array(rows)
  let next = 0 // first window not yet left behind
  let preceding: WindowRows | undefined
  for (let i = 0; i < rows; i++) {
    while (next < spans.length && i > spans[next]!.last) preceding = spans[next++]
    const span = spans[next]
    if (span && i >= span.first) {
      windowOf[i] = next
      value[i] = truePositiveReward(i, span)
    } else {
      value[i] = falsePositiveValue(i, preceding)
    }
  }

  return {
    name,
    rows,
    probation: probationLength(rows, options.probationFraction ?? PROBATION_FRACTION),
    scores,
    windows: spans,
    windowOf,
    value,
  }
}

function locateWindow(name: string, k: number, w: Window, timestamps: ArrayLike<number>): WindowRows {
  let first = -1
  let last = -1
  let count = 0
  for (let i = 0; i < timestamps.length; i++) {
    const t = timestamps[i]!
    if (t >= w.start && t <= w.end) {
      if (first < 0) first = i
      last = i
      count++
    }
  }
  if (count === 0) throw new NabInputError(`${name}: window ${k} holds no row`)
  if (count !== last - first + 1) {
    throw new NabInputError(`${name}: the rows of window ${k} are not contiguous (timestamps out of order)`)
  }
  return { first, last }
}
