// The seeded-fault check of bench:quality, per generator: recall of faults (within the tolerance of
// bench/faults/recall.ts) and the share of clean rows flagged, with the default configuration,
// through detect(). Targets (issue 15): recall >= 95 %, clean rows flagged <= 1 %.
import type { Kernel } from '../../kernels/host/kernel.js'
import { faultyStream } from '../faults/streams.js'
import { type LabelledRun, pumpSensorFaultRun, REPORT_SEEDS } from './pump-runs.js'
import { flagRows } from './run-detect.js'
import { addSeeded, checkSeeded, emptySeeded, type SeededCheck } from './score.js'
import { univariateStream } from './univariate.js'

export interface SeededResult extends SeededCheck {
  generator: string
  /** `tuning`: the detectors were tuned on it; `report`: nobody tunes on it. */
  split: 'tuning' | 'report'
  seeds: number[]
  recall: number
  cleanFlagged: number
}

/** The project's own generator (bench/faults/streams.ts), seeds 1-10 as its test runs them, 600-row warm-up. */
export function projectStreams(): LabelledRun[] {
  return seeds(1, 10).map((seed) => {
    const s = faultyStream(seed)
    return {
      rows: { deviceId: `stream-${seed}`, ts: s.ts, metrics: { value: s.values } },
      faults: s.faults.map((f) => ({ kind: f.kind, start: f.start, end: f.end })),
      clean: 600,
    }
  })
}

/** The quality generator's univariate streams (univariate.ts), seeds 1-8. */
export function qualityStreams(): LabelledRun[] {
  return seeds(1, 8).map((seed) => {
    const s = univariateStream(seed)
    return {
      rows: { deviceId: `quality-${seed}`, ts: s.ts, metrics: { value: s.values } },
      faults: s.faults,
      clean: s.warmup,
    }
  })
}

/** The pump physics with sensor faults, report seeds 1001-1020. */
export function pumpSensorRuns(): LabelledRun[] {
  return REPORT_SEEDS.map(pumpSensorFaultRun)
}

export async function seededCheck(
  kernel: Kernel,
  generator: string,
  split: SeededResult['split'],
  runs: LabelledRun[],
  seedList: number[],
): Promise<SeededResult> {
  const flags = await flagRows(
    kernel,
    runs.map((r) => r.rows),
  )
  const total = emptySeeded()
  runs.forEach((run, k) => {
    addSeeded(total, checkSeeded(run.faults, flags[k]!, run.clean))
  })
  return {
    generator,
    split,
    seeds: seedList,
    ...total,
    recall: total.faults > 0 ? total.detected / total.faults : 0,
    cleanFlagged: total.cleanRows > 0 ? total.falseAlarms / total.cleanRows : 0,
  }
}

export function seeds(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, k) => from + k)
}
