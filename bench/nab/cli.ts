// NAB benchmark entry.
//   tsx bench/nab/cli.ts [--out DIR] [--nab NAB_ROOT] [--config JSON]
// runs edgewatch's detectors (the Wasm kernel with the product's default analysis config, through
// the Analyser, as `edgewatch detect` does) over the corpus, writes their outputs in NAB's results
// layout, scores them (and a 2-fold figure), prints a table, then one JSON line. --config runs
// another analysis config instead (as EDGEWATCH_CONFIG gives it), for exploring on a tuning fold.
//   tsx bench/nab/cli.ts --score-results DIR [--detector NAME] [--nab NAB_ROOT]
// scores published detector outputs (DIR laid out as results/<detector>/<category>/<detector>_<file>.csv).

import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ZodError } from 'zod'
import { resolveAnalysisConfig } from '../../functions/domain/analysis-config.js'
import { loadNodeKernel, projectRoot } from '../../kernels/node.js'
import { dataFilePaths, readDetectorResults } from './corpus.js'
import { NabInputError } from './errors.js'
import { type DetectorScore, prepareOutputs, scoreDetector } from './evaluate.js'
import { type TwoFold, twoFold } from './folds.js'
import { NAB_CONFIG, runEdgewatch } from './own.js'
import { nabPaths } from './paths.js'
import { loadProfiles } from './profiles.js'
import { loadWindows } from './windows.js'
import { writeResults } from './write-results.js'

const USAGE = `usage: tsx bench/nab/cli.ts [--out DIR] [--nab NAB_ROOT] [--config JSON]
       tsx bench/nab/cli.ts --score-results DIR [--detector NAME] [--nab NAB_ROOT]
  (no flags)           run edgewatch's detectors (the default config) over the corpus and score them
  --config JSON        an analysis config instead of the defaults, e.g. '{"detectors":{"enabled":{"shape":false}}}'
  --out DIR            where edgewatch's outputs go (default: bench/results/nab), as DIR/edgewatch/...
  --score-results DIR  score a detector's published outputs: DIR/<category>/<detector>_<file>.csv
  --detector NAME      detector name, the file-name prefix (default: the folder name of DIR)
  --nab NAB_ROOT       the NAB data set (default: ../shared/datasets/nab beside the project root)`

interface Options {
  scoreResults: string | undefined
  detector: string | undefined
  nab: string | undefined
  out: string | undefined
  config: unknown
}

function parseOptions(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      'score-results': { type: 'string' },
      detector: { type: 'string' },
      nab: { type: 'string' },
      out: { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help) return 'help'
  return {
    scoreResults: values['score-results'],
    detector: values.detector,
    nab: values.nab,
    out: values.out,
    config: values.config === undefined ? NAB_CONFIG : parseConfig(values.config),
  }
}

/** The --config text as an analysis config, checked here so that a bad one is one line, not a stack. */
function parseConfig(text: string): unknown {
  let config: unknown
  try {
    config = JSON.parse(text)
  } catch (err) {
    throw new Error(`--config is not JSON: ${(err as Error).message}`)
  }
  try {
    resolveAnalysisConfig(config)
  } catch (err) {
    if (!(err instanceof ZodError)) throw err
    const issues = err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    throw new Error(`--config is not a valid analysis config: ${issues.join('; ')}`)
  }
  return config
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

/** Runs edgewatch's own detectors over the NAB corpus, writes their outputs and scores them. */
async function runOwnDetectors(options: Options): Promise<number> {
  const started = performance.now()
  const paths = nabPaths(options.nab)
  const windows = loadWindows(paths.windows)
  const profiles = loadProfiles(paths.profiles)
  const kernel = await loadNodeKernel()
  const outputs = runEdgewatch(kernel, options.config, dataFilePaths(paths.data, windows))
  const dir = join(options.out ?? join(projectRoot(), 'bench', 'results', 'nab'), 'edgewatch')
  writeResults(dir, 'edgewatch', outputs)
  const files = prepareOutputs(outputs, windows)
  const result = scoreDetector('edgewatch', files, profiles)
  const folds = twoFold(files, profiles)
  console.log(`outputs in ${dir}`)
  printReport(result, performance.now() - started, folds, options.config ?? 'defaults')
  return 0
}

function printReport(result: DetectorScore, elapsedMs: number, folds?: TwoFold, config?: unknown): void {
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
  if (config !== undefined) summary.config = config
  for (const p of result.profiles) summary[p.profile] = p.normalised
  // A threshold of null means "never fire": no threshold did better than detecting nothing.
  summary.thresholds = Object.fromEntries(
    result.profiles.map((p) => [p.profile, Number.isFinite(p.threshold) ? p.threshold : null]),
  )
  summary.raw = Object.fromEntries(result.profiles.map((p) => [p.profile, p.raw]))
  if (folds) {
    console.log(
      '2-fold (threshold chosen on alternate files, scored on the others): ' +
        profileNames(result)
          .map((p) => `${p} ${folds.mean[p]!.toFixed(2)}`)
          .join(', '),
    )
    summary.twoFold = {
      split:
        'files sorted by name, alternate files; the one configuration above for every file; threshold per profile chosen on one half',
      folds: folds.folds,
      mean: folds.mean,
    }
  }
  summary.files = result.files
  summary.windows = result.windows
  summary.elapsedMs = Math.round(elapsedMs)
  console.log(JSON.stringify(summary))
}

function profileNames(result: DetectorScore): string[] {
  return result.profiles.map((p) => p.profile)
}

async function main(argv: string[]): Promise<number> {
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
    if (options.scoreResults === undefined) return await runOwnDetectors(options)
    return scorePublishedResults(options.scoreResults, options)
  } catch (err) {
    if (err instanceof NabInputError) {
      console.error(`error: ${err.message}`)
      return 1
    }
    throw err
  }
}

process.exitCode = await main(process.argv.slice(2))
