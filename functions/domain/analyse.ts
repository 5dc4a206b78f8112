// The analyser: rules, then every numeric series through the Wasm kernel, for one batch of records.
// It works on columns (columns.ts): the server passes validated records, the browser replay tool
// passes stored columns straight through, and both get the same answers.
import { isOlderSnapshot, type Kernel, windowFeatures } from '../../kernels/host/kernel.js'
import { kindsOf } from '../../kernels/host/kinds.js'
import { encodeParams } from '../../kernels/host/params.js'
import { seriesKey } from '../store/port.js'
import { DeviceStateAnalyser } from './analyse-state.js'
import type { AnalysisConfig, DeviceAnalysis } from './analysis-config.js'
import { columnsOf, levelOf, type RecordColumns } from './columns.js'
import { DEVICE_STATE_METRIC } from './device-state.js'
import { levelAnomaly, ruleAnomaly } from './rules.js'
import type { Anomaly, DeviceRecord, SeriesState, WindowFeatureRow } from './types.js'

export interface Verdict {
  /** Highest anomaly score on the record, in [0, 1]. */
  score: number
  /** Kinds found on the record, without repeats. */
  kinds: string[]
}

export interface Analysis {
  /** One verdict per input record, same order. */
  verdicts: Verdict[]
  /** Every anomaly, in record order. */
  anomalies: Anomaly[]
  windows: WindowFeatureRow[]
  /** The new state of every series the batch touched. */
  states: SeriesState[]
}

/** An anomaly and the record (index in the batch) it is on. */
export interface Found {
  at: number
  anomaly: Anomaly
}

export interface ColumnAnalysis {
  /** Per record: the highest score of its series and rules, in [0, 1]. */
  scores: Float64Array
  /** Every anomaly, in record order; on one record: error, metric rules, then detectors by series. */
  found: Found[]
  /** Windows closed per series, packed (see windowFeatures in kernels/host/kernel.ts). */
  windows: SeriesWindows[]
  states: SeriesState[]
}

export interface SeriesWindows {
  deviceId: string
  metric: string
  packed: Float64Array
}

/** The kinds of a record without anomalies (shared; replaced, never mutated). */
const NONE: string[] = []
/** Sort keys within one record: the level rule, metric rules in order, detectors after them. */
const DETECTOR_ORDER = 1 << 20

export class Analyser {
  private readonly encoded = new Map<DeviceAnalysis, Float64Array>()
  private readonly devices: DeviceStateAnalyser

  constructor(
    private readonly kernel: Kernel,
    private readonly config: AnalysisConfig,
  ) {
    this.devices = new DeviceStateAnalyser(kernel, (deviceId) => this.settingsFor(deviceId))
  }

  /** The series a batch touches, to load their states before analysis: each device's state too. */
  seriesOf(records: DeviceRecord[]): { deviceId: string; metric: string }[] {
    // Per device, the metrics seen: no key string is built per record (it was a tenth of the
    // analysis under load). The device's own state comes first, when it has metrics and the state
    // detector runs for it.
    const seen = new Map<string, Set<string>>()
    const out: { deviceId: string; metric: string }[] = []
    for (const r of records) {
      if (r.metrics.length === 0) continue
      let metrics = seen.get(r.deviceId)
      if (!metrics) {
        metrics = new Set()
        seen.set(r.deviceId, metrics)
        // Only where the state detector runs: a state never stored would be looked up every batch.
        if (this.kernel.runState && this.settingsFor(r.deviceId).detectors.enabled.state)
          out.push({ deviceId: r.deviceId, metric: DEVICE_STATE_METRIC })
      }
      for (const [metric] of r.metrics) {
        if (metrics.has(metric)) continue
        metrics.add(metric)
        out.push({ deviceId: r.deviceId, metric })
      }
    }
    return out
  }

  analyse(records: DeviceRecord[], states: Map<string, SeriesState>): Analysis {
    const {
      scores,
      found,
      windows: packed,
      states: newStates,
    } = this.analyseColumns(columnsOf(records), states)
    const windows: WindowFeatureRow[] = []
    for (const { deviceId, metric, packed: p } of packed)
      for (const w of windowFeatures(p)) windows.push({ deviceId, metric, ...w })
    const verdicts: Verdict[] = Array.from(scores, (score) => ({ score, kinds: NONE }))
    for (const { at, anomaly } of found) {
      const v = verdicts[at]!
      if (v.kinds === NONE) v.kinds = [anomaly.kind]
      else if (!v.kinds.includes(anomaly.kind)) v.kinds.push(anomaly.kind)
    }
    return { verdicts, anomalies: found.map((f) => f.anomaly), windows, states: newStates }
  }

  analyseColumns(cols: RecordColumns, states: Map<string, SeriesState>): ColumnAnalysis {
    const scores = new Float64Array(cols.n)
    const found: (Found & { order: number })[] = []
    for (let at = 0; at < cols.n; at++) {
      const level = levelOf(cols.level[at]!)
      if (!level) continue
      const deviceId = cols.devices[cols.device[at]!]!
      if (!this.settingsFor(deviceId).rules.errorLevels.includes(level)) continue
      found.push({ at, order: 0, anomaly: levelAnomaly(deviceId, cols.ts[at]!, level, cols.msg[at]) })
      scores[at] = 1
    }
    const windows: SeriesWindows[] = []
    const newStates: SeriesState[] = []
    cols.series.forEach((s, order) => {
      const deviceId = cols.devices[s.device]!
      const settings = this.settingsFor(deviceId)
      const n = s.rows.length
      const ts = new Float64Array(n)
      for (let i = 0; i < n; i++) ts[i] = cols.ts[s.rows[i]!]!
      settings.rules.metrics.forEach((rule, r) => {
        if (rule.metric !== s.metric) return
        for (let i = 0; i < n; i++) {
          const anomaly = ruleAnomaly(rule, deviceId, ts[i]!, s.values[i]!)
          if (anomaly) found.push({ at: s.rows[i]!, order: 1 + r, anomaly })
        }
      })
      const previous = states.get(seriesKey(deviceId, s.metric))
      // A snapshot from an earlier kernel version restarts the series' detectors (after an upgrade),
      // and so does an empty one (the host's way to restart a series whose snapshot was unreadable).
      const state =
        previous && previous.state.byteLength > 0 && !isOlderSnapshot(previous.state)
          ? previous.state
          : undefined
      const result = this.kernel.run(state, ts, s.values, this.paramsFor(settings))
      for (let i = 0; i < n; i++) {
        const at = s.rows[i]!
        const score = result.scores[i]!
        if (score > scores[at]!) scores[at] = score
        const flags = result.flags[i]!
        if (flags === 0) continue
        for (const kind of kindsOf(flags)) {
          const anomaly = {
            deviceId,
            ts: ts[i]!,
            kind,
            metric: s.metric,
            value: s.values[i]!,
            score,
            detail: undefined,
          }
          found.push({ at, order: DETECTOR_ORDER + order, anomaly })
        }
      }
      if (result.windows.length) windows.push({ deviceId, metric: s.metric, packed: result.windows })
      let lastTs = previous?.lastTs ?? 0
      for (let i = 0; i < n; i++) if (ts[i]! > lastTs) lastTs = ts[i]!
      newStates.push({
        deviceId,
        metric: s.metric,
        state: result.state,
        lastTs,
        sampleCount: (previous?.sampleCount ?? 0) + n,
        version: previous?.version ?? 0,
      })
    })
    // The devices' state detector, after every series of the record.
    const device = this.devices.analyse(cols, states)
    for (const f of device.found) found.push({ ...f, order: DETECTOR_ORDER + cols.series.length })
    for (let at = 0; at < cols.n; at++) if (device.scores[at]! > scores[at]!) scores[at] = device.scores[at]!
    for (const s of device.states) newStates.push(s)
    found.sort((a, b) => a.at - b.at || a.order - b.order)
    for (const f of found) if (f.anomaly.score > scores[f.at]!) scores[f.at] = f.anomaly.score
    return { scores, found, windows, states: newStates }
  }

  /** A device's state detector snapshot learnt from rows of its metrics (see DeviceStateAnalyser.learn). */
  learnDeviceState(deviceId: string, metrics: string[], rows: Float64Array): Uint8Array {
    return this.devices.learn(deviceId, metrics, rows)
  }

  private settingsFor(deviceId: string): DeviceAnalysis {
    return this.config.devices.get(deviceId) ?? this.config.fleet
  }

  /** Encoded params per settings object, cached so the kernel skips rewriting unchanged params. */
  private paramsFor(settings: DeviceAnalysis): Float64Array {
    let p = this.encoded.get(settings)
    if (!p) {
      p = encodeParams(settings.detectors)
      this.encoded.set(settings, p)
    }
    return p
  }
}
