// The analyser: rules, then every numeric series through the Wasm kernel, for one batch of records.
import { type Kernel, windowFeatures } from '../../kernels/host/kernel.js'
import { kindsOf } from '../../kernels/host/kinds.js'
import { encodeParams } from '../../kernels/host/params.js'
import { seriesKey } from '../store/port.js'
import type { AnalysisConfig, DeviceAnalysis } from './analysis-config.js'
import { applyRules } from './rules.js'
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

interface SeriesBatch {
  deviceId: string
  metric: string
  records: number[]
  values: number[]
}

/** The kinds of a record without anomalies (shared; replaced, never mutated). */
const NONE: string[] = []

export class Analyser {
  private readonly encoded = new Map<DeviceAnalysis, Float64Array>()

  constructor(
    private readonly kernel: Kernel,
    private readonly config: AnalysisConfig,
  ) {}

  /** The series a batch touches, to load their states before analysis. */
  static seriesOf(records: DeviceRecord[]): { deviceId: string; metric: string }[] {
    const seen = new Map<string, { deviceId: string; metric: string }>()
    for (const r of records) {
      for (const [metric] of r.metrics) {
        const key = seriesKey(r.deviceId, metric)
        if (!seen.has(key)) seen.set(key, { deviceId: r.deviceId, metric })
      }
    }
    return [...seen.values()]
  }

  analyse(records: DeviceRecord[], states: Map<string, SeriesState>): Analysis {
    const verdicts: Verdict[] = records.map(() => ({ score: 0, kinds: NONE }))
    const found: { at: number; anomaly: Anomaly }[] = []
    // Series grouped by device, then metric: no key string built per sample.
    const byDevice = new Map<string, Map<string, SeriesBatch>>()
    for (let at = 0; at < records.length; at++) {
      const r = records[at]!
      const settings = this.settingsFor(r.deviceId)
      if (r.level !== undefined || settings.rules.metrics.length > 0) {
        for (const anomaly of applyRules(r, settings.rules)) found.push({ at, anomaly })
      }
      let metrics = byDevice.get(r.deviceId)
      if (!metrics) {
        metrics = new Map()
        byDevice.set(r.deviceId, metrics)
      }
      for (const [metric, value] of r.metrics) {
        let s = metrics.get(metric)
        if (!s) {
          s = { deviceId: r.deviceId, metric, records: [], values: [] }
          metrics.set(metric, s)
        }
        s.records.push(at)
        s.values.push(value)
      }
    }
    const series: SeriesBatch[] = []
    for (const metrics of byDevice.values()) for (const s of metrics.values()) series.push(s)
    const windows: WindowFeatureRow[] = []
    const newStates: SeriesState[] = []
    for (const s of series) {
      const previous = states.get(seriesKey(s.deviceId, s.metric))
      const ts = Float64Array.from(s.records, (at) => records[at]!.ts)
      const result = this.kernel.run(
        previous?.state,
        ts,
        Float64Array.from(s.values),
        this.paramsFor(s.deviceId),
      )
      for (let i = 0; i < ts.length; i++) {
        const at = s.records[i]!
        const score = result.scores[i]!
        if (score > verdicts[at]!.score) verdicts[at]!.score = score
        const flags = result.flags[i]!
        if (flags === 0) continue
        for (const kind of kindsOf(flags)) {
          found.push({
            at,
            anomaly: {
              deviceId: s.deviceId,
              ts: ts[i]!,
              kind,
              metric: s.metric,
              value: s.values[i]!,
              score,
              detail: undefined,
            },
          })
        }
      }
      for (const w of windowFeatures(result.windows))
        windows.push({ deviceId: s.deviceId, metric: s.metric, ...w })
      let lastTs = previous?.lastTs ?? 0
      for (const t of ts) if (t > lastTs) lastTs = t
      newStates.push({
        deviceId: s.deviceId,
        metric: s.metric,
        state: result.state,
        lastTs,
        sampleCount: (previous?.sampleCount ?? 0) + ts.length,
      })
    }
    found.sort((a, b) => a.at - b.at)
    for (const { at, anomaly } of found) {
      const v = verdicts[at]!
      if (anomaly.score > v.score) v.score = anomaly.score
      if (v.kinds === NONE) v.kinds = [anomaly.kind]
      else if (!v.kinds.includes(anomaly.kind)) v.kinds.push(anomaly.kind)
    }
    return { verdicts, anomalies: found.map((f) => f.anomaly), windows, states: newStates }
  }

  private settingsFor(deviceId: string): DeviceAnalysis {
    return this.config.devices.get(deviceId) ?? this.config.fleet
  }

  /** Encoded params per settings object, cached so the kernel skips rewriting unchanged params. */
  private paramsFor(deviceId: string): Float64Array {
    const settings = this.settingsFor(deviceId)
    let p = this.encoded.get(settings)
    if (!p) {
      p = encodeParams(settings.detectors)
      this.encoded.set(settings, p)
    }
    return p
  }
}
