// Acceptance: scoring the outputs of the three detectors NAB publishes reproduces NAB's figures.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import { describe, expect, it } from 'vitest'
import { readDetectorResults } from './corpus.js'
import { prepareOutputs, scoreAtThreshold, scoreDetector } from './evaluate.js'
import { nabPaths } from './paths.js'
import { loadProfiles } from './profiles.js'
import { loadWindows } from './windows.js'

const paths = nabPaths()
const windows = loadWindows(paths.windows)
const profiles = loadProfiles(paths.profiles)
const finalResults = JSON.parse(readFileSync(paths.finalResults, 'utf8')) as Record<
  string,
  Record<string, number>
>

interface PublishedRow {
  File: string
  Threshold: string
  Score: string
  TP: string
  TN: string
  FP: string
  FN: string
  Total_Count: string
}

describe.each(['numenta', 'windowedGaussian', 'null'])('published detector %s', (detector) => {
  const dir = join(paths.results, detector)
  const files = prepareOutputs(readDetectorResults(dir, windows).outputs, windows)

  it('reproduces results/final_results.json within 0.1 on every profile', () => {
    const result = scoreDetector(detector, files, profiles)
    expect(result).toMatchObject({ files: 58, windows: 116 })
    for (const p of result.profiles) {
      const published = finalResults[detector]?.[p.profile]
      expect(published, `${detector} ${p.profile}`).toBeTypeOf('number')
      expect(Math.abs(p.normalised - published!), `${detector} ${p.profile}: ${p.normalised}`).toBeLessThan(
        0.1,
      )
    }
  })

  it.each(profiles.map((p) => [p.name, p] as const))(
    'matches every per-file score and count of %s at NAB’s own threshold',
    (name, profile) => {
      const rows = parse(readFileSync(join(dir, `${detector}_${name}_scores.csv`)), {
        columns: true,
      }) as PublishedRow[]
      const totals = rows.pop()!
      expect(totals.File).toBe('')
      const threshold = Number(rows[0]!.Threshold)
      const ours = scoreAtThreshold(files, profile, threshold)
      const byFile = new Map(ours.detail.files.map((f) => [f.file, f]))
      expect(rows).toHaveLength(58)
      for (const row of rows) {
        const f = byFile.get(row.File)!
        expect(f.raw, row.File).toBeCloseTo(Number(row.Score), 8)
        expect([f.tp, f.tn, f.fp, f.fn, f.total], row.File).toEqual(
          [row.TP, row.TN, row.FP, row.FN, row.Total_Count].map(Number),
        )
      }
      expect(ours.raw).toBeCloseTo(Number(totals.Score), 8)
    },
  )
})
