// The analyser's per-device part: every device's records as rows of its metrics (a record with several
// metrics is one row) through the kernel's `state` detector, from the device state stored under the
// reserved metric name. Records with none of the modelled metrics are not rows.
import type { Kernel } from '../../kernels/host/kernel.js'
import { encodeStateParams } from '../../kernels/host/params.js'
import { isFlagged, topMetrics } from '../../kernels/host/state.js'
import { STATE_METRICS_MAX } from '../../kernels/layout.js'
import { ApiError } from '../http/errors.js'
import { seriesKey } from '../store/port.js'
import type { DeviceAnalysis } from './analysis-config.js'
import type { RecordColumns, SeriesColumns } from './columns.js'
import { DEVICE_STATE_METRIC, decodeDeviceState, encodeDeviceState, learning } from './device-state.js'
import type { Anomaly, SeriesState } from './types.js'

export interface DeviceFound {
  at: number
  anomaly: Anomaly
}

export interface DeviceStates {
  /** Per record of the batch: the state score of its row (0 for none). */
  scores: Float64Array
  found: DeviceFound[]
  states: SeriesState[]
}

/**
 * Adds the series' new metrics to the model's columns in the order they first appear, those of one
 * record by name: the columns, and so the kernel's arithmetic, are the same whatever the batches and
 * whatever order a record (or the replay tool's columns) lists its metrics in.
 */
export function joinMetrics(metrics: string[], series: SeriesColumns[]): void {
  const fresh = series
    .filter((s) => !metrics.includes(s.metric))
    .sort((a, b) => a.rows[0]! - b.rows[0]! || byName(a.metric, b.metric))
  for (const s of fresh) if (metrics.length < STATE_METRICS_MAX) metrics.push(s.metric)
}

export const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * The records (ascending batch indices) that carry any of the series: usually every record of a
 * device carries all its metrics, and that one list is the answer; else the lists are merged.
 */
function unionOfRows(series: SeriesColumns[]): Uint32Array {
  const first = series[0]!.rows
  if (series.every((s) => sameRows(s.rows, first))) return first
  const all = new Uint32Array(series.reduce((n, s) => n + s.rows.length, 0))
  let n = 0
  for (const s of series) {
    all.set(s.rows, n)
    n += s.rows.length
  }
  all.sort()
  let unique = 0
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[unique++] = all[i]!
  return all.subarray(0, unique)
}

function sameRows(a: Uint32Array, b: Uint32Array): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export class DeviceStateAnalyser {
  private readonly encoded = new Map<DeviceAnalysis, Float64Array>()

  constructor(
    private readonly kernel: Kernel,
    private readonly settingsFor: (deviceId: string) => DeviceAnalysis,
  ) {}

  analyse(cols: RecordColumns, states: Map<string, SeriesState>): DeviceStates {
    const scores = new Float64Array(cols.n)
    const found: DeviceFound[] = []
    const newStates: SeriesState[] = []
    const run = this.kernel.runState?.bind(this.kernel)
    if (!run) return { scores, found, states: newStates }
    // cols.series is grouped by device already: one pass splits it.
    const byDevice: SeriesColumns[][] = cols.devices.map(() => [])
    for (const s of cols.series) byDevice[s.device]!.push(s)
    cols.devices.forEach((deviceId, d) => {
      const settings = this.settingsFor(deviceId)
      if (!settings.detectors.enabled.state) return
      const previous = states.get(seriesKey(deviceId, DEVICE_STATE_METRIC))
      const model =
        previous && previous.state.byteLength > 0
          ? decodeDeviceState(previous.state)
          : { kernel: undefined, metrics: [] }
      const series = byDevice[d]!
      // Metrics seen in the baseline join the model (the first STATE_METRICS_MAX); later ones do not.
      const metrics = [...model.metrics]
      if (learning(model)) joinMetrics(metrics, series)
      if (metrics.length === 0) return
      // Rows: the device's records carrying a modelled metric, in batch order.
      const modelled = series.filter((s) => metrics.includes(s.metric))
      if (modelled.length === 0) return
      const records = unionOfRows(modelled)
      const width = metrics.length
      const rows = new Float64Array(records.length * width).fill(Number.NaN)
      for (const s of modelled) {
        const column = metrics.indexOf(s.metric)
        // Both ascending: a record's row is found by walking forward, no lookup.
        let r = 0
        for (let i = 0; i < s.rows.length; i++) {
          while (records[r] !== s.rows[i]) r++
          rows[r * width + column] = s.values[i]!
        }
      }
      const result = run(model.kernel, rows, width, this.paramsFor(settings))
      records.forEach((at, r) => {
        const score = result.scores[r]!
        scores[at] = score
        const verdict = result.verdicts[r]!
        if (!isFlagged(verdict)) return
        const top = topMetrics(verdict).map((c) => metrics[c]!)
        const lead = metrics.indexOf(top[0] ?? '')
        found.push({
          at,
          anomaly: {
            deviceId,
            ts: cols.ts[at]!,
            kind: 'state',
            metric: top[0],
            value: lead >= 0 && Number.isFinite(rows[r * width + lead]) ? rows[r * width + lead]! : null,
            score,
            detail: `off its learnt state; most: ${top.join(', ')}`,
          },
        })
      })
      let lastTs = previous?.lastTs ?? 0
      for (const at of records) if (cols.ts[at]! > lastTs) lastTs = cols.ts[at]!
      newStates.push({
        deviceId,
        metric: DEVICE_STATE_METRIC,
        state: encodeDeviceState(result.state, metrics),
        lastTs,
        sampleCount: (previous?.sampleCount ?? 0) + records.length,
        version: previous?.version ?? 0,
      })
    })
    return { scores, found, states: newStates }
  }

  /**
   * A device's state learnt from `rows` of `metrics` (row-major, NaN: missing), all of them its
   * baseline: the model is fitted at the last row and scores every later one. Throws an ApiError
   * when the device's state detector is off, or this host's kernel has none.
   */
  learn(deviceId: string, metrics: string[], rows: Float64Array): Uint8Array {
    const settings = this.settingsFor(deviceId)
    if (!this.kernel.runState)
      throw new ApiError(501, 'not_supported', "this runtime's kernel has no state detector")
    if (!settings.detectors.enabled.state)
      throw new ApiError(409, 'state_detector_off', `the state detector is off for ${deviceId.slice(0, 128)}`)
    const params = encodeStateParams({ ...settings.detectors.state, baseline: rows.length / metrics.length })
    const result = this.kernel.runState(undefined, rows, metrics.length, params)
    return encodeDeviceState(result.state, metrics)
  }

  private paramsFor(settings: DeviceAnalysis): Float64Array {
    let p = this.encoded.get(settings)
    if (!p) {
      p = encodeStateParams(settings.detectors.state)
      this.encoded.set(settings, p)
    }
    return p
  }
}
