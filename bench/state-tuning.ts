// The state detector on its TUNING data: the pump physics (firmware/sensors/pump.ts) with equipment
// faults (valve, cavitation, bearing, leak) from firmware/sensors/faults.ts, seeds 1-20 only (seeds
// 1001-1020 are report data: never here). Each run: the pump read every STEP, the first 1000 rows
// fault-free (the baseline), then two faults of 5-15 minutes with a gap between them. Every row goes
// through the Analyser (Wasm kernel, default configuration plus the baseline) as `edgewatch detect`
// runs it; a row counts as flagged when its verdict has a kind (bench/faults/recall.ts does the same).
// Point-wise precision, recall and F1 over the rows after the baseline, for the state detector alone
// and for every kind, and the share of rows flagged on fault-free runs of the same pumps.

import { withFaults } from '../firmware/sensors/faults.js'
import { createPump } from '../firmware/sensors/pump.js'
import { createRandom } from '../firmware/sensors/random.js'
import { Analyser } from '../functions/domain/analyse.js'
import { resolveAnalysisConfig } from '../functions/domain/analysis-config.js'
import type { DeviceRecord, SeriesState } from '../functions/domain/types.js'
import { seriesKey } from '../functions/store/port.js'
import { loadNodeKernel } from '../kernels/node.js'
import { pointScore } from './quality/score.js'
import { report } from './stats.js'

const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1)
const BASELINE = 1000
const KINDS = ['valve', 'cavitation', 'bearing', 'leak'] as const

interface Run {
  records: DeviceRecord[]
  faulty: Uint8Array
}

function pumpRun(seed: number, stepMs: number, rows: number, faults: boolean): Run {
  const deviceId = `pump-${seed}`
  const sensor = withFaults(createPump({ seed }), { deviceId, seed })
  const random = createRandom(seed * 7 + 1)
  const t0 = Date.UTC(2026, 0, 1, Math.floor(random.next() * 24))
  const faulty = new Uint8Array(rows)
  let at = BASELINE + 100
  for (let k = 0; faults && k < 2; k++) {
    const length = Math.round(((5 + random.next() * 10) * 60_000) / stepMs)
    if (at + length >= rows) break
    sensor.inject({ kind: KINDS[(seed + k) % 4]!, start: t0 + at * stepMs - 1, duration: length * stepMs })
    faulty.fill(1, at, at + length)
    at += length + Math.round(200 + random.next() * 400)
  }
  const names = sensor.channels()
  const records: DeviceRecord[] = []
  for (let i = 0; i < rows; i++) {
    const ts = t0 + i * stepMs
    const reading = sensor.read(ts)
    const metrics = names.map((n): [string, number] => [n, reading[n]!])
    records.push({ deviceId, ts, level: undefined, msg: undefined, metrics, body: '' })
  }
  return { records, faulty }
}

/** Kinds per row, the device's rows through the Analyser in chunks of 8192 as `detect` runs them. */
function analyse(analyser: Analyser, records: DeviceRecord[]): string[][] {
  const states = new Map<string, SeriesState>()
  const kinds: string[][] = []
  for (let from = 0; from < records.length; from += 8192) {
    const out = analyser.analyse(records.slice(from, from + 8192), states)
    for (const s of out.states) states.set(seriesKey(s.deviceId, s.metric), s)
    for (const v of out.verdicts) kinds.push(v.kinds)
  }
  return kinds
}

const round = (x: number) => Math.round(x * 1000) / 1000

const kernel = await loadNodeKernel()
const analyser = new Analyser(kernel, resolveAnalysisConfig({ detectors: { state: { baseline: BASELINE } } }))
const results: Record<string, unknown> = {}
for (const [name, stepMs, rows] of [
  ['1s', 1000, 4000],
  ['10s', 10_000, 3000],
] as const) {
  const count = { state: [0, 0, 0], any: [0, 0, 0] }
  let cleanRows = 0
  let cleanState = 0
  let cleanAny = 0
  for (const seed of SEEDS) {
    const run = pumpRun(seed, stepMs, rows, true)
    const kinds = analyse(analyser, run.records)
    for (let i = BASELINE; i < rows; i++) {
      const faulty = run.faulty[i] === 1
      for (const [key, flagged] of [
        ['state', kinds[i]!.includes('state')],
        ['any', kinds[i]!.length > 0],
      ] as const) {
        const c = count[key]
        if (flagged && faulty) c[0]!++
        else if (flagged) c[1]!++
        else if (faulty) c[2]!++
      }
    }
    const clean = pumpRun(seed, stepMs, rows, false)
    const cleanKinds = analyse(analyser, clean.records)
    for (let i = BASELINE; i < rows; i++) {
      cleanRows++
      if (cleanKinds[i]!.includes('state')) cleanState++
      if (cleanKinds[i]!.length > 0) cleanAny++
    }
  }
  const score = ([tp, fp, fn]: number[]) => pointScore({ tp: tp!, fp: fp!, fn: fn!, tn: 0 })
  const s = score(count.state)
  const a = score(count.any)
  results[name] = {
    state: { precision: round(s.precision), recall: round(s.recall), f1: round(s.f1) },
    any_kind: { precision: round(a.precision), recall: round(a.recall), f1: round(a.f1) },
    clean_rows_flagged_pct: {
      state: round((100 * cleanState) / cleanRows),
      any_kind: round((100 * cleanAny) / cleanRows),
    },
  }
  console.log(
    `${name.padEnd(4)} state F1 ${s.f1.toFixed(3)} (P ${s.precision.toFixed(3)} R ${s.recall.toFixed(3)}), ` +
      `any kind F1 ${a.f1.toFixed(3)}; clean rows flagged: state ${((100 * cleanState) / cleanRows).toFixed(2)} %, any kind ${((100 * cleanAny) / cleanRows).toFixed(2)} %`,
  )
}
report({ benchmark: 'state-tuning', data: 'TUNING: pump physics seeds 1-20', baseline: BASELINE, ...results })
