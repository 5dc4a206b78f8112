// What fuel metering costs: the kernel (kernels/build/edgewatch.wasm) run through loadKernel on a
// 1M-sample series, metered and not, and a tight counting loop (the worst case: a charge per
// iteration of a 6-instruction loop); module sizes; meter()'s own time; fuel per sample.
// `npx tsx firmware/apps/wasm/bench-meter.ts`; the last line is one JSON object.
import { readFileSync } from 'node:fs'
import { median, report, timeRuns } from '../../../bench/stats.js'
import { loadKernel } from '../../../kernels/host/kernel.js'
import { DEFAULT_PARAMS, encodeParams } from '../../../kernels/host/params.js'
import { buildKernels, kernelPath } from '../../../kernels/node.js'
import { FUEL_EXPORT, meter } from './meter.js'
import { code, exports, functions, module, op, T, types } from './testing/assemble.js'

const N = 1_000_000
const RUNS = Number(process.env.BENCH_RUNS ?? 9)
const HUGE = 1n << 62n

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

/** Median seconds of a and of b, their runs alternated so that a busy machine slows both alike. */
function interleaved(a: () => void, b: () => void): [number, number] {
  const ta: number[] = []
  const tb: number[] = []
  for (let i = 0; i < RUNS; i++) {
    ta.push(...timeRuns(a, 1, i === 0 ? 2 : 0))
    tb.push(...timeRuns(b, 1, i === 0 ? 2 : 0))
  }
  return [median(ta), median(tb)]
}

try {
  readFileSync(kernelPath())
} catch {
  buildKernels()
}
const plainBytes = readFileSync(kernelPath())
const meterTimes = timeRuns(() => meter(plainBytes, { initialFuel: HUGE }), 21)
const meteredBytes = meter(plainBytes, { initialFuel: HUGE })
const plain = await loadKernel(plainBytes)
const metered = await loadKernel(meteredBytes)
const { ts, values } = series(N)
const params = encodeParams({ ...DEFAULT_PARAMS, threshold: { lo: 0, hi: 100 } })
const [kernelPlain, kernelMetered] = interleaved(
  () => plain.run(undefined, ts, values, params),
  () => metered.run(undefined, ts, values, params),
)

// Fuel per sample: the metered kernel driven directly, its fuel global read before and after.
const instance = (await WebAssembly.instantiate(meteredBytes, {})).instance
const k = instance.exports as Record<string, CallableFunction> & { memory: WebAssembly.Memory }
const fuel = instance.exports[FUEL_EXPORT] as WebAssembly.Global
const capacity = k.capacity!() as number
new Float64Array(k.memory.buffer, k.paramsPtr!() as number, params.length).set(params)
k.reset!()
fuel.value = HUGE
for (let offset = 0; offset < N; offset += capacity) {
  const len = Math.min(capacity, N - offset)
  new Float64Array(k.memory.buffer, k.tsPtr!() as number, len).set(ts.subarray(offset, offset + len))
  new Float64Array(k.memory.buffer, k.valuePtr!() as number, len).set(values.subarray(offset, offset + len))
  for (let done = 0; done < len; ) done = k.process!(done, len) as number
}
const fuelPerSample = Number(HUGE - (fuel.value as bigint)) / N

// The tight loop: for (i = n; i != 0; i--) {} as `loop local.get 0 i32.const 1 i32.sub local.tee 0 br_if 0 end`.
const loopBytes = module(
  types([[T.i32], [T.i32]]),
  functions(0),
  exports(['spin', 'func', 0]),
  code({
    code: [
      op.loop,
      op.void,
      op.local_get,
      0,
      op.i32_const,
      1,
      op.i32_sub,
      op.local_tee,
      0,
      op.br_if,
      0,
      op.end,
      op.local_get,
      0,
      op.end,
    ],
  }),
)
const spin = async (bytes: Uint8Array<ArrayBuffer>) =>
  (await WebAssembly.instantiate(bytes, {})).instance.exports.spin as (n: number) => number
const LOOPS = 100_000_000
const spinPlain = await spin(loopBytes)
const spinMetered = await spin(meter(loopBytes, { initialFuel: HUGE }))
const [loopPlain, loopMetered] = interleaved(
  () => spinPlain(LOOPS),
  () => spinMetered(LOOPS),
)

const pct = (a: number, b: number) => Math.round((a / b - 1) * 1000) / 10
console.log(
  `kernel bytes      ${plainBytes.length} -> ${meteredBytes.length} (+${pct(meteredBytes.length, plainBytes.length)}%)`,
)
console.log(`meter() on kernel ${(median(meterTimes) * 1e3).toFixed(2)} ms`)
console.log(
  `kernel 1M samples ${(kernelPlain * 1e3).toFixed(1)} ms -> ${(kernelMetered * 1e3).toFixed(1)} ms (+${pct(kernelMetered, kernelPlain)}%)`,
)
console.log(`fuel per sample   ${fuelPerSample.toFixed(1)}`)
console.log(
  `tight loop 1e8    ${(loopPlain * 1e3).toFixed(1)} ms -> ${(loopMetered * 1e3).toFixed(1)} ms (+${pct(loopMetered, loopPlain)}%)`,
)
report({
  benchmark: 'meter',
  runs: RUNS,
  kernel_bytes: plainBytes.length,
  kernel_metered_bytes: meteredBytes.length,
  size_growth_pct: pct(meteredBytes.length, plainBytes.length),
  meter_ms: Math.round(median(meterTimes) * 1e5) / 100,
  kernel_samples: N,
  kernel_ms: Math.round(kernelPlain * 1e4) / 10,
  kernel_metered_ms: Math.round(kernelMetered * 1e4) / 10,
  kernel_overhead_pct: pct(kernelMetered, kernelPlain),
  fuel_per_sample: Math.round(fuelPerSample * 10) / 10,
  loop_iterations: LOOPS,
  loop_ms: Math.round(loopPlain * 1e4) / 10,
  loop_metered_ms: Math.round(loopMetered * 1e4) / 10,
  loop_overhead_pct: pct(loopMetered, loopPlain),
})
