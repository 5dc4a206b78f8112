// Anomaly windows, the ground truth: labels/combined_windows.json maps each data file
// ("<category>/<file>.csv") to its list of [start, end] timestamps, both ends inclusive.

import { NabInputError } from './errors.js'
import { readJson } from './read-text.js'
import { parseNabTimestamp } from './timestamp.js'

/** One anomaly window, as epoch milliseconds (inclusive). */
export interface Window {
  start: number
  end: number
}

/** Windows by data file name ("realKnownCause/nyc_taxi.csv"), each list sorted and disjoint. */
export type WindowsByFile = ReadonlyMap<string, readonly Window[]>

/** Checks and converts the parsed JSON of a windows file. */
export function windowsFromJson(json: unknown, source = 'windows'): Map<string, Window[]> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new NabInputError(`${source}: expected an object mapping file names to window lists`)
  }
  const out = new Map<string, Window[]>()
  for (const [file, list] of Object.entries(json)) {
    if (!Array.isArray(list)) throw new NabInputError(`${source}: windows of ${file} are not a list`)
    const windows = list.map((pair: unknown, i) => {
      const where = `${source}: window ${i} of ${file}`
      if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((t) => typeof t === 'string')) {
        throw new NabInputError(`${where} is not a [start, end] pair of timestamps`)
      }
      const [start, end] = pair.map((t: string) => parseNabTimestamp(t)) as [number, number]
      if (Number.isNaN(start) || Number.isNaN(end))
        throw new NabInputError(`${where} has a malformed timestamp`)
      if (end < start) throw new NabInputError(`${where} ends before it starts`)
      return { start, end }
    })
    for (let i = 1; i < windows.length; i++) {
      if (windows[i]!.start <= windows[i - 1]!.end) {
        throw new NabInputError(`${source}: windows of ${file} overlap or are out of order`)
      }
    }
    out.set(file, windows)
  }
  return out
}

export function loadWindows(path: string): Map<string, Window[]> {
  return windowsFromJson(readJson(path, 'windows file'), path)
}
