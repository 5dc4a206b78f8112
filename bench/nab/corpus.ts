// Reading detector outputs laid out as NAB publishes them:
//   <dir>/<category>/<detector>_<file>.csv   with columns timestamp, anomaly_score (others ignored)
// and the data files themselves (<data>/<category>/<file>.csv: timestamp, value).

import { readdirSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parse } from 'csv-parse/sync'
import { NabInputError } from './errors.js'
import type { DetectorOutput } from './prepare.js'
import { readText } from './read-text.js'
import { parseNabTimestamp } from './timestamp.js'
import type { WindowsByFile } from './windows.js'

/** Reads a CSV into named numeric columns, timestamps parsed; every error names file and line. */
export function readCsvColumns<C extends string>(
  path: string,
  columns: readonly C[],
): { timestamps: Float64Array } & Record<C, Float64Array> {
  const text = readText(path, 'CSV file')
  let records: string[][]
  try {
    records = parse(text, { bom: true, trim: true })
  } catch (err) {
    throw new NabInputError(`${path}: malformed CSV: ${(err as Error).message}`)
  }
  const header = records[0]
  if (!header) throw new NabInputError(`${path}: empty file`)
  const at = (name: string): number => {
    const i = header.indexOf(name)
    if (i < 0) throw new NabInputError(`${path}: no "${name}" column (header: ${header.join(',')})`)
    return i
  }
  const tsAt = at('timestamp')
  const valueAt = columns.map(at)
  const rows = records.length - 1
  const timestamps = new Float64Array(rows)
  const values = columns.map(() => new Float64Array(rows))
  for (let r = 0; r < rows; r++) {
    const record = records[r + 1]!
    const line = r + 2
    const ts = parseNabTimestamp(record[tsAt]!)
    if (Number.isNaN(ts)) throw new NabInputError(`${path}:${line}: malformed timestamp "${record[tsAt]}"`)
    timestamps[r] = ts
    valueAt.forEach((c, k) => {
      const cell = record[c]!
      const v = Number(cell)
      if (cell === '' || !Number.isFinite(v)) {
        throw new NabInputError(`${path}:${line}: ${columns[k]} "${cell}" is not a finite number`)
      }
      values[k]![r] = v
    })
  }
  const out = { timestamps } as { timestamps: Float64Array } & Record<C, Float64Array>
  columns.forEach((c, k) => {
    ;(out as Record<string, Float64Array>)[c] = values[k]!
  })
  return out
}

/** One detector's results file. */
export function readResultsFile(path: string): DetectorOutput {
  const { timestamps, anomaly_score } = readCsvColumns(path, ['anomaly_score'])
  return { timestamps, scores: anomaly_score }
}

/** One NAB data file: timestamps (epoch ms) and values. */
export function readDataFile(path: string): { timestamps: Float64Array; values: Float64Array } {
  const { timestamps, value } = readCsvColumns(path, ['value'])
  return { timestamps, values: value }
}

/** Paths of the data files named in `windows`, by name ("realKnownCause/nyc_taxi.csv"). */
export function dataFilePaths(dataDir: string, windows: WindowsByFile): Map<string, string> {
  return new Map([...windows.keys()].map((name) => [name, join(dataDir, name)]))
}

export interface DetectorResults {
  detector: string
  outputs: Map<string, DetectorOutput>
}

/**
 * Reads every `<category>/<detector>_<file>.csv` under `dir` (files at the top, such as NAB's
 * `*_scores.csv` summaries, are skipped). The detector name defaults to the folder's name. Every
 * file must be named in `windows`, and every file of `windows` must be present.
 */
export function readDetectorResults(
  dir: string,
  windows: WindowsByFile,
  detector = basename(dir),
): DetectorResults {
  const entries = listDir(dir)
  const prefix = detector + '_'
  const outputs = new Map<string, DetectorOutput>()
  for (const category of entries.sort()) {
    const categoryDir = join(dir, category)
    if (!statSync(categoryDir).isDirectory()) continue
    for (const file of listDir(categoryDir).sort()) {
      if (!file.endsWith('.csv')) continue
      const path = join(categoryDir, file)
      if (!file.startsWith(prefix)) {
        throw new NabInputError(
          `${path}: expected a name of the form ${prefix}<file>.csv (taking the detector to be "${detector}")`,
        )
      }
      const name = `${category}/${file.slice(prefix.length)}`
      if (!windows.has(name))
        throw new NabInputError(`${path}: unknown data file ${name} (not in the windows file)`)
      outputs.set(name, readResultsFile(path))
    }
  }
  const missing = [...windows.keys()].filter((name) => !outputs.has(name))
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ', …' : '')
    throw new NabInputError(
      `${dir}: no results for ${missing.length} of ${windows.size} data files: ${shown}`,
    )
  }
  return { detector, outputs }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason =
      code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : String(err)
    throw new NabInputError(`cannot read results directory ${dir}: ${reason}`)
  }
}
