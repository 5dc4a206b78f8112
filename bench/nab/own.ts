// edgewatch over the NAB corpus, the way `edgewatch detect` runs a file: every series through the
// Analyser (rules, then the Wasm kernel) in chunks, the detector state carried from chunk to chunk.
// Streaming and causal: each score depends only on the samples up to it; labels are never read here.

import { Analyser } from '../../functions/domain/analyse.js'
import { resolveAnalysisConfig } from '../../functions/domain/analysis-config.js'
import type { DeviceRecord, SeriesState } from '../../functions/domain/types.js'
import { seriesKey } from '../../functions/store/port.js'
import type { Kernel } from '../../kernels/host/kernel.js'
import { readDataFile } from './corpus.js'

/**
 * The one analysis configuration bench:nab runs with, for all 58 files: the product's defaults, so
 * that what scores is what runs (undefined resolves to the defaults, as with no EDGEWATCH_CONFIG).
 */
export const NAB_CONFIG = undefined

/** The same chunk size as `edgewatch detect`. */
export const CHUNK_ROWS = 8192

export interface SeriesOutput {
  timestamps: Float64Array
  values: Float64Array
  scores: Float64Array
}

/**
 * Scores one NAB file (one device, one metric "value") with the analysis configuration `config`
 * (as EDGEWATCH_CONFIG gives it; undefined means the defaults).
 */
export function scoreSeries(
  kernel: Kernel,
  config: unknown,
  name: string,
  data: { timestamps: Float64Array; values: Float64Array },
): Float64Array {
  const analyser = new Analyser(kernel, resolveAnalysisConfig(config))
  const states = new Map<string, SeriesState>()
  const n = data.timestamps.length
  const scores = new Float64Array(n)
  for (let from = 0; from < n; from += CHUNK_ROWS) {
    const records: DeviceRecord[] = []
    for (let i = from; i < Math.min(n, from + CHUNK_ROWS); i++) {
      const ts = data.timestamps[i]!
      const value = data.values[i]!
      records.push({
        deviceId: name,
        ts,
        level: undefined,
        msg: undefined,
        metrics: [['value', value]],
        body: JSON.stringify({ timestamp: ts, value }),
      })
    }
    const result = analyser.analyse(records, states)
    for (const s of result.states) states.set(seriesKey(s.deviceId, s.metric), s)
    result.verdicts.forEach((v, i) => {
      scores[from + i] = v.score
    })
  }
  return scores
}

/** Scores every file of `paths` (name → data file path). */
export function runEdgewatch(
  kernel: Kernel,
  config: unknown,
  paths: ReadonlyMap<string, string>,
): Map<string, SeriesOutput> {
  const out = new Map<string, SeriesOutput>()
  for (const [name, path] of paths) {
    const data = readDataFile(path)
    out.set(name, { ...data, scores: scoreSeries(kernel, config, name, data) })
  }
  return out
}
