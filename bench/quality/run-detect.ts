// Runs labelled data through the product's own path: the rows are written as NDJSON to a temporary
// directory, `detect()` (the code behind `edgewatch detect`) analyses the file with the default
// configuration, and its output file is read back. A row counts as flagged when its verdict has at
// least one anomaly kind (the `anomalies` column is not empty), as bench/faults/recall.ts counts a
// non-zero flag.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type DetectOptions, detect } from '../../functions/cli/detect.js'
import { resolveAnalysisConfig } from '../../functions/domain/analysis-config.js'
import type { Kernel } from '../../kernels/host/kernel.js'

/** One device's rows: times and, per metric, a value per row (NaN: the row lacks the metric). */
export interface DeviceRows {
  deviceId: string
  ts: Float64Array
  metrics: Record<string, Float64Array>
}

/** What detect gets besides the file. `baseline` is the flag the state detector adds (issue 15). */
export type QualityDetectOptions = { baseline?: number }

/** Per device (same order): 1 for each flagged row. */
export async function flagRows(
  kernel: Kernel,
  devices: readonly DeviceRows[],
  options: QualityDetectOptions = {},
): Promise<Uint8Array[]> {
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-quality-'))
  try {
    const input = join(dir, 'in.ndjson')
    const output = join(dir, 'out.ndjson')
    writeFileSync(input, devices.map(ndjsonLines).join(''))
    const opts: DetectOptions & { baseline?: number } = {
      input,
      output,
      format: 'ndjson',
      outputFormat: 'ndjson',
      progress: false,
      ...options,
    }
    const summary = await detect(kernel, resolveAnalysisConfig(undefined), opts)
    if (summary.invalidCount > 0)
      throw new Error(`detect refused ${summary.invalidCount} rows: ${JSON.stringify(summary.invalid[0])}`)
    return splitFlags(readFileSync(output, 'utf8'), devices)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** A device's rows as NDJSON: deviceId, ts (epoch ms) and the metrics the row has. */
function ndjsonLines(d: DeviceRows): string {
  const names = Object.keys(d.metrics)
  let out = ''
  for (let i = 0; i < d.ts.length; i++) {
    const row: Record<string, unknown> = { deviceId: d.deviceId, ts: d.ts[i] }
    for (const m of names) {
      const v = d.metrics[m]![i]!
      if (!Number.isNaN(v)) row[m] = v
    }
    out += `${JSON.stringify(row)}\n`
  }
  return out
}

/** The output's lines, in input order, cut back into devices. */
function splitFlags(text: string, devices: readonly DeviceRows[]): Uint8Array[] {
  const lines = text.split('\n').filter((l) => l.length > 0)
  const expected = devices.reduce((n, d) => n + d.ts.length, 0)
  if (lines.length !== expected) throw new Error(`detect wrote ${lines.length} rows for ${expected}`)
  let at = 0
  return devices.map((d) => {
    const flags = new Uint8Array(d.ts.length)
    for (let i = 0; i < flags.length; i++, at++) {
      const row = JSON.parse(lines[at]!) as { deviceId: string; anomalies: string }
      if (row.deviceId !== d.deviceId) throw new Error(`row ${at} is ${row.deviceId}, expected ${d.deviceId}`)
      flags[i] = row.anomalies.length > 0 ? 1 : 0
    }
    return flags
  })
}
