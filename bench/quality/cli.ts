// `npm run bench:quality`: every detection-quality check of issue 15 with the default configuration,
// through the product's own path (detect() over NDJSON files in a temporary directory; NAB through
// bench/nab's runner with the defaults). Prints a table per check, progress on stderr, and ends with
// one JSON line. Tune on the tuning data only (bench/faults/streams.ts, pump seeds 1-20); every
// figure here but the first row is on report data nobody tunes on.
//   tsx bench/quality/cli.ts [--nab NAB_ROOT] [--no-nab]   (exit 1: NAB could not be read, the rest is reported)
import { parseArgs } from 'node:util'
import { loadNodeKernel } from '../../kernels/node.js'
import { NabInputError } from '../nab/errors.js'
import { type NabResult, nabDefaults } from './nab-default.js'
import { compressorRuns, type PersistentResult, persistentCheck, pumpEquipmentRuns } from './persistent.js'
import { REPORT_SEEDS } from './pump-runs.js'
import {
  projectStreams,
  pumpSensorRuns,
  qualityStreams,
  type SeededResult,
  seededCheck,
  seeds,
} from './seeded.js'

const TARGET = { recall: 0.95, cleanFlagged: 0.01, f1: 0.8 }

const USAGE = `usage: tsx bench/quality/cli.ts [--nab NAB_ROOT] [--no-nab]
  --nab NAB_ROOT  the NAB data set (default: ../shared/datasets/nab beside the project root)
  --no-nab        skip NAB (its figure is null in the JSON)`

function options(): { nab?: string; 'no-nab'?: boolean } {
  try {
    const { values } = parseArgs({
      options: {
        nab: { type: 'string' },
        'no-nab': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    })
    if (values.help) {
      console.log(USAGE)
      process.exit(0)
    }
    return values
  } catch (err) {
    console.error(`error: ${(err as Error).message}\n${USAGE}`)
    process.exit(2)
  }
}

const values = options()
const began = performance.now()
const kernel = await loadNodeKernel()

/** Runs a step with its name and time on stderr. */
async function step<T>(name: string, run: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now()
  process.stderr.write(`bench:quality ${name} ...`)
  const out = await run()
  process.stderr.write(` ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
  return out
}

const seeded: SeededResult[] = [
  await step('seeded faults, bench/faults/streams.ts', () =>
    seededCheck(kernel, 'project univariate (bench/faults)', 'tuning', projectStreams(), seeds(1, 10)),
  ),
  await step('seeded faults, quality univariate', () =>
    seededCheck(kernel, 'quality univariate (bench/quality)', 'report', qualityStreams(), seeds(1, 8)),
  ),
  await step('seeded faults, pump physics', () =>
    seededCheck(kernel, 'pump physics sensor faults', 'report', pumpSensorRuns(), REPORT_SEEDS),
  ),
]
const persistent: PersistentResult[] = [
  await step('persistent faults, pump physics', () =>
    persistentCheck(kernel, 'pump physics equipment faults', pumpEquipmentRuns(), REPORT_SEEDS),
  ),
  await step('persistent faults, compressor runs', () =>
    persistentCheck(kernel, 'quality compressor runs (bench/quality)', compressorRuns(), seeds(1, 12)),
  ),
]
let nab: NabResult | null = null
try {
  if (!values['no-nab']) nab = await step('NAB, default configuration', () => nabDefaults(kernel, values.nab))
} catch (err) {
  // A missing or broken corpus: say which, and report every other figure.
  if (!(err instanceof NabInputError)) throw err
  console.error(`\nNAB skipped: ${err.message}`)
  process.exitCode = 1
}

/** Figures are cut, never rounded up (the house rule): 0.19194 prints 0.191. */
const down = (x: number, digits: number) =>
  (Math.floor(x * 10 ** digits + 1e-9) / 10 ** digits).toFixed(digits)
const pct = (x: number) => `${down(100 * x, 2)} %`
const verdict = (ok: boolean) => (ok ? 'met' : 'NOT MET')

console.log('Seeded faults (default configuration; targets: recall >= 95 %, clean rows flagged <= 1 %)')
console.log(
  'generator                              data     faults  found   recall    clean rows  flagged    targets',
)
for (const s of seeded) {
  const ok = s.recall >= TARGET.recall && s.cleanFlagged <= TARGET.cleanFlagged
  console.log(
    [
      s.generator.padEnd(38),
      s.split.padEnd(7),
      String(s.faults).padStart(7),
      String(s.detected).padStart(6),
      pct(s.recall).padStart(9),
      String(s.cleanRows).padStart(12),
      pct(s.cleanFlagged).padStart(9),
      `   ${verdict(ok)}`,
    ].join(' '),
  )
  const kinds = Object.entries(s.byKind).map(([k, v]) => `${k} ${v.detected}/${v.faults}`)
  console.log(`${''.padEnd(39)}by kind: ${kinds.join(', ')}`)
}
console.log('')
console.log('Persistent faults, point-wise (default configuration + baseline; target: F1 >= 0.80)')
console.log(
  'generator                                runs  rows/run  baseline  precision  recall     F1   target',
)
for (const p of persistent) {
  console.log(
    [
      p.generator.padEnd(40),
      String(p.runs).padStart(4),
      String(p.rowsPerRun).padStart(9),
      String(p.baselineRows).padStart(9),
      down(p.precision, 3).padStart(10),
      down(p.recall, 3).padStart(7),
      down(p.f1, 3).padStart(6),
      `   ${verdict(p.f1 >= TARGET.f1)}`,
    ].join(' '),
  )
  const kinds = Object.entries(p.recallByKind).map(([k, r]) => `${k} ${down(r, 2)}`)
  console.log(`${''.padEnd(41)}recall by kind: ${kinds.join(', ')}`)
}
if (nab) {
  console.log('')
  console.log(`NAB, default configuration, ${nab.files} files`)
  console.log('profile              whole corpus   2-fold (mean)')
  for (const profile of Object.keys(nab.whole))
    console.log(
      `${profile.padEnd(20)} ${down(nab.whole[profile]!, 2).padStart(12)} ${down(nab.twoFold[profile]!, 2).padStart(15)}`,
    )
}
console.log(
  JSON.stringify({
    bench: 'quality',
    config: 'defaults',
    targets: TARGET,
    seeded,
    persistent,
    nab,
    elapsedMs: Math.round(performance.now() - began),
  }),
)
