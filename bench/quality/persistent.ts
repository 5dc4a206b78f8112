// The persistent-fault check of bench:quality: point-wise precision, recall and F1 on multi-sensor
// runs whose faults last minutes, with the default configuration plus `baseline` = the runs'
// fault-free prefix, through detect(). Rows of the baseline are not scored. Target (issue 15): F1 >= 0.80.
import type { Kernel } from '../../kernels/host/kernel.js'
import { deviceRun } from './device-runs.js'
import { type LabelledRun, pumpEquipmentRun, REPORT_SEEDS } from './pump-runs.js'
import { flagRows } from './run-detect.js'
import {
  addCounts,
  countPoints,
  emptyCounts,
  type PointCounts,
  type PointScore,
  pointScore,
} from './score.js'
import { seeds } from './seeded.js'

export interface PersistentResult extends PointCounts, PointScore {
  generator: string
  seeds: number[]
  runs: number
  baselineRows: number
  rowsPerRun: number
  /** Point-wise recall per fault kind (rows of that kind flagged / its rows). */
  recallByKind: Record<string, number>
}

export function pumpEquipmentRuns(): LabelledRun[] {
  return REPORT_SEEDS.map(pumpEquipmentRun)
}

/** The quality generator's compressor runs (device-runs.ts), seeds 1-12. */
export function compressorRuns(): LabelledRun[] {
  return seeds(1, 12).map((seed) => {
    const run = deviceRun(seed)
    return {
      rows: { deviceId: run.deviceId, ts: run.ts, metrics: run.metrics },
      faults: run.faults,
      clean: run.baseline,
    }
  })
}

/** Runs must share one baseline: detect's `baseline` is one row count for every device. */
export async function persistentCheck(
  kernel: Kernel,
  generator: string,
  runs: LabelledRun[],
  seedList: number[],
): Promise<PersistentResult> {
  const baseline = runs[0]!.clean
  if (runs.some((r) => r.clean !== baseline)) throw new Error(`${generator}: runs with different baselines`)
  const flags = await flagRows(
    kernel,
    runs.map((r) => r.rows),
    { baseline },
  )
  const total = emptyCounts()
  const byKind: Record<string, { rows: number; flagged: number }> = {}
  runs.forEach((run, k) => {
    const f = flags[k]!
    addCounts(total, countPoints(run.faults, f, baseline))
    for (const span of run.faults) {
      const kind = byKind[span.kind] ?? { rows: 0, flagged: 0 }
      byKind[span.kind] = kind
      for (let i = span.start; i < span.end; i++) {
        kind.rows++
        kind.flagged += f[i]!
      }
    }
  })
  const rows = runs.reduce((n, r) => n + r.rows.ts.length, 0)
  return {
    generator,
    seeds: seedList,
    runs: runs.length,
    baselineRows: baseline,
    rowsPerRun: Math.round(rows / runs.length),
    ...total,
    ...pointScore(total),
    recallByKind: Object.fromEntries(
      Object.entries(byKind).map(([kind, k]) => [kind, k.rows > 0 ? k.flagged / k.rows : 0]),
    ),
  }
}
