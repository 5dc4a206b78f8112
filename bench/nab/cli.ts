// NAB benchmark entry.
//   tsx bench/nab/cli.ts --score-results DIR [--detector NAME] [--nab NAB_ROOT]
// scores published detector outputs (DIR laid out as results/<detector>/<category>/<detector>_<file>.csv),
// prints a table, then one JSON line. Without --score-results it is meant to run edgewatch's own
// detectors over the corpus (not written yet).

import { parseArgs } from 'node:util'
import { readDetectorResults } from './corpus.js'
import { NabInputError } from './errors.js'
import { type DetectorScore, prepareOutputs, scoreDetector } from './evaluate.js'
import { nabPaths } from './paths.js'
import { loadProfiles } from './profiles.js'
import { loadWindows } from './windows.js'

const USAGE = `usage: tsx bench/nab/cli.ts --score-results DIR [--detector NAME] [--nab NAB_ROOT]
  --score-results DIR  score a detector's published outputs: DIR/<category>/<detector>_<file>.csv
  --detector NAME      detector name, the file-name prefix (default: the folder name of DIR)
  --nab NAB_ROOT       the NAB data set (default: ../shared/datasets/nab beside the project root)`

interface Options {
  scoreResults: string | undefined
  detector: string | undefined
  nab: string | undefined
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      'score-results': { type: 'string' },
      detector: { type: 'string' },
      nab: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help) return 'help'
  return { scoreResults: values['score-results'], detector: values.detector, nab: values.nab }
}

/** Scores published outputs in `dir`; returns the process exit code. */
function scorePublishedResults(dir: string, options: Options): number {
  const started = performance.now()
  const paths = nabPaths(options.nab)
  const windows = loadWindows(paths.windows)
  const profiles = loadProfiles(paths.profiles)
  const { detector, outputs } = readDetectorResults(dir, windows, options.detector)
  const files = prepareOutputs(outputs, windows)
  const result = scoreDetector(detector, files, profiles)
  printReport(result, performance.now() - started)
  return 0
}

/** Runs edgewatch's own detectors over the NAB corpus and scores them. Not implemented yet. */
function runOwnDetectors(_options: Options): number {
  console.error('error: not implemented yet: use --score-results DIR')
  return 2
}

function printReport(result: DetectorScore, elapsedMs: number): void {
  console.log(`NAB scores of ${result.detector} (${result.files} files, ${result.windows} windows)`)
  console.log('profile             threshold      raw score   normalised   TP rows  FP rows  windows hit')
  for (const p of result.profiles) {
    const threshold = Number.isFinite(p.threshold) ? p.threshold.toFixed(6) : 'never'
    console.log(
      [
        p.profile.padEnd(18),
        threshold.padStart(10),
        p.raw.toFixed(4).padStart(14),
        p.normalised.toFixed(2).padStart(12),
        String(p.detail.tp).padStart(9),
        String(p.detail.fp).padStart(8),
        `${p.detail.detectedWindows}/${p.detail.windows}`.padStart(12),
      ].join(' '),
    )
  }
  const summary: Record<string, unknown> = { detector: result.detector }
  for (const p of result.profiles) summary[p.profile] = p.normalised
  // A threshold of null means "never fire": no threshold did better than detecting nothing.
  summary.thresholds = Object.fromEntries(
    result.profiles.map((p) => [p.profile, Number.isFinite(p.threshold) ? p.threshold : null]),
  )
  summary.raw = Object.fromEntries(result.profiles.map((p) => [p.profile, p.raw]))
  summary.files = result.files
  summary.windows = result.windows
  summary.elapsedMs = Math.round(elapsedMs)
  console.log(JSON.stringify(summary))
}

function main(argv: string[]): number {
  let options: Options | 'help'
  try {
    options = parseOptions(argv)
  } catch (err) {
    console.error(`error: ${(err as Error).message}\n${USAGE}`)
    return 2
  }
  if (options === 'help') {
    console.log(USAGE)
    return 0
  }
  try {
    if (options.scoreResults === undefined) return runOwnDetectors(options)
    return scorePublishedResults(options.scoreResults, options)
  } catch (err) {
    if (err instanceof NabInputError) {
      console.error(`error: ${err.message}`)
      return 1
    }
    throw err
  }
}

process.exitCode = main(process.argv.slice(2))
