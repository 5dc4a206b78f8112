// Kernel benchmark: samples/s per detector and for the whole stack (the defaults, and without the
// context and shape detectors, the defaults before they were on) on a 1M-sample series, the Wasm
// kernel through its host API against the TypeScript reference. Median of several runs.

import { DETECTOR_KINDS } from '../kernels/host/kinds.js'
import {
  DEFAULT_PARAMS,
  type DetectorParams,
  encodeParams,
  encodeStateParams,
} from '../kernels/host/params.js'
import { loadNodeKernel } from '../kernels/node.js'
import { ReferenceSeries } from '../kernels/reference/reference.js'
import { median, report, timeRuns } from './stats.js'

const N = 1_000_000
const RUNS = Number(process.env.BENCH_RUNS ?? 9)

function series(n: number): { ts: Float64Array; values: Float64Array } {
  const ts = new Float64Array(n)
  const values = new Float64Array(n)
  let v = 20
  for (let i = 0; i < n; i++) {
    ts[i] = 1_700_000_000_000 + i * 1000
    v += Math.sin(i * 0.37) * 0.2
    values[i] = v + ((i * 7919) % 101) / 100 + (i % 50_000 === 0 ? 30 : 0)
  }
  return { ts, values }
}

const only = (name: keyof DetectorParams['enabled']): DetectorParams => ({
  ...DEFAULT_PARAMS,
  threshold: { lo: 0, hi: 100 },
  enabled: {
    threshold: false,
    outlier: false,
    spike: false,
    drift: false,
    stuck: false,
    novelty: false,
    context: false,
    shape: false,
    window: false,
    state: false,
    [name]: true,
  },
})

const kernel = await loadNodeKernel()
const { ts, values } = series(N)
const rate = (params: DetectorParams) => {
  const encoded = encodeParams(params)
  return N / median(timeRuns(() => kernel.run(undefined, ts, values, encoded), RUNS))
}

const detectors: Record<string, number> = {}
for (const name of [...DETECTOR_KINDS, 'window'] as const) {
  detectors[name] = Math.round(rate(only(name)))
  console.log(`${name.padEnd(10)} ${(detectors[name]! / 1e6).toFixed(1)} M samples/s`)
}
const stackParams = { ...DEFAULT_PARAMS, threshold: { lo: 0, hi: 100 } }
const stack = rate(stackParams)
const referenceStack =
  N /
  median(
    timeRuns(
      () => {
        const ref = new ReferenceSeries(stackParams)
        for (let i = 0; i < N; i++) ref.step(ts[i]!, values[i]!)
      },
      Math.min(RUNS, 5),
      1,
    ),
  )
console.log(
  `stack      ${(stack / 1e6).toFixed(1)} M samples/s (reference ${(referenceStack / 1e6).toFixed(1)})`,
)
// Context and shape are on by default (bench:nab runs the defaults); the stack without them shows
// their cost side by side, on the same machine at the same time.
const leanStack = rate({ ...stackParams, enabled: { ...stackParams.enabled, context: false, shape: false } })
console.log(`stack without context and shape ${(leanStack / 1e6).toFixed(1)} M samples/s`)

// The per-device state detector runs on rows of a device's metrics, beside the series kernel: its
// cost per row for 6 metrics (the pump) and 16 (the most it models), and the default stack's
// throughput with it, counting each metric value of a row as one sample.
const stateRowsPerS = (d: number) => {
  const rows = Math.floor(N / d)
  const matrix = new Float64Array(rows * d)
  for (let r = 0; r < rows; r++)
    for (let m = 0; m < d; m++)
      matrix[r * d + m] = values[(r * d + m) % N]! * (1 + m / 10) + (m === 0 ? r % 7 : 0)
  const params = encodeStateParams(DEFAULT_PARAMS.state)
  return rows / median(timeRuns(() => kernel.runState!(undefined, matrix, d, params), RUNS))
}
const state6 = stateRowsPerS(6)
const state16 = stateRowsPerS(16)
const withState = (d: number, rowsPerS: number) => 1 / (1 / stack + 1 / (rowsPerS * d))
console.log(
  `state      ${(state6 / 1e6).toFixed(2)} M rows/s of 6 metrics (${(1e9 / state6).toFixed(0)} ns a row), ${(state16 / 1e6).toFixed(2)} M rows/s of 16 (${(1e9 / state16).toFixed(0)} ns)`,
)
console.log(
  `stack + state ${(withState(6, state6) / 1e6).toFixed(1)} M samples/s (6 metrics a row), ${(withState(16, state16) / 1e6).toFixed(1)} (16)`,
)

report({
  benchmark: 'kernel',
  samples: N,
  runs: RUNS,
  ewma_samples_per_s: detectors.outlier,
  stack_samples_per_s: Math.round(stack),
  stack_without_context_shape_samples_per_s: Math.round(leanStack),
  reference_stack_samples_per_s: Math.round(referenceStack),
  wasm_over_reference: Number((stack / referenceStack).toFixed(2)),
  per_detector_samples_per_s: detectors,
  state_rows_per_s: { metrics_6: Math.round(state6), metrics_16: Math.round(state16) },
  state_ns_per_row: { metrics_6: Math.round(1e9 / state6), metrics_16: Math.round(1e9 / state16) },
  stack_with_state_samples_per_s: {
    metrics_6: Math.round(withState(6, state6)),
    metrics_16: Math.round(withState(16, state16)),
  },
})
