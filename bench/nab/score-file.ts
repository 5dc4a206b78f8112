// The raw NAB score of prepared files at one threshold. A row is a detection when its anomaly score
// is >= threshold; rows in the probationary period are ignored.
//
// Per window, only the earliest detection counts: it earns tpWeight * its reward; a window with no
// detection costs fnWeight. Each detection outside every window adds fpWeight * its (negative) value.

import type { PreparedFile } from './prepare.js'
import type { CostMatrix } from './profiles.js'

/** Row counts (scored rows only, as NAB reports them) and the score of one file or several. */
export interface ScoreCounts {
  tp: number
  fp: number
  tn: number
  fn: number
  /** All rows, probationary ones included. */
  total: number
  windows: number
  detectedWindows: number
}

export interface FileScore extends ScoreCounts {
  file: string
  raw: number
}

export interface FilesScore extends ScoreCounts {
  threshold: number
  raw: number
  files: FileScore[]
}

export function scoreFile(file: PreparedFile, threshold: number, costs: CostMatrix): FileScore {
  const { scores, windowOf, value, rows } = file
  const earliest = new Int32Array(file.windows.length).fill(-1)
  let tp = 0
  let fp = 0
  let tn = 0
  let fn = 0
  let fpSum = 0
  for (let i = file.probation; i < rows; i++) {
    const detected = scores[i]! >= threshold
    const w = windowOf[i]!
    if (w >= 0) {
      if (!detected) fn++
      else {
        tp++
        if (earliest[w]! < 0) earliest[w] = i
      }
    } else if (!detected) tn++
    else {
      fp++
      fpSum += value[i]!
    }
  }
  let raw = costs.fpWeight * fpSum
  let detectedWindows = 0
  for (const row of earliest) {
    if (row < 0) raw -= costs.fnWeight
    else {
      raw += costs.tpWeight * value[row]!
      detectedWindows++
    }
  }
  return { file: file.name, raw, tp, fp, tn, fn, total: rows, windows: earliest.length, detectedWindows }
}

/** Scores each file at the same threshold and sums. */
export function scoreFiles(files: readonly PreparedFile[], threshold: number, costs: CostMatrix): FilesScore {
  const total: FilesScore = {
    threshold,
    raw: 0,
    tp: 0,
    fp: 0,
    tn: 0,
    fn: 0,
    total: 0,
    windows: 0,
    detectedWindows: 0,
    files: [],
  }
  for (const file of files) {
    const s = scoreFile(file, threshold, costs)
    total.files.push(s)
    total.raw += s.raw
    total.tp += s.tp
    total.fp += s.fp
    total.tn += s.tn
    total.fn += s.fn
    total.total += s.total
    total.windows += s.windows
    total.detectedWindows += s.detectedWindows
  }
  return total
}
