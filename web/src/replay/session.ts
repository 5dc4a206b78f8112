// A replay: a dataset's chunks joined into columns, analysed by the server's Analyser and Wasm
// kernel, step by step (a timeline) or all at once. Runs in the replay worker; no DOM.

import { Analyser, type Found } from '../../../functions/domain/analyse.js'
import { type AnalysisConfigInput, resolveAnalysisConfig } from '../../../functions/domain/analysis-config.js'
import type { RecordColumns, SeriesColumns } from '../../../functions/domain/columns.js'
import type { Anomaly, SeriesState } from '../../../functions/domain/types.js'
import { seriesKey } from '../../../functions/store/port.js'
import { concat, type Kernel } from '../../../kernels/host/kernel.js'
import type { Chunk } from '../store/chunk.js'

/** The whole dataset in columns (records in file order). */
export interface Loaded extends RecordColumns {
  line: Uint32Array
  body: string[]
  /** Per record: the server's kinds (comma separated), when the data came from its export. */
  serverKinds: string[] | undefined
  /** Per record: the highest ts so far, for the timeline (files are not always in time order). */
  tsSoFar: Float64Array
}

/** Joins chunks into one set of columns; series keep first-appearance order. */
export function join(chunks: Chunk[]): Loaded {
  const n = chunks.reduce((s, c) => s + c.n, 0)
  const ts = new Float64Array(n)
  const line = new Uint32Array(n)
  const device = new Uint32Array(n)
  const level = new Uint8Array(n)
  const msg: (string | undefined)[] = []
  const body: string[] = new Array(n)
  const devices: string[] = []
  const deviceIndex = new Map<string, number>()
  const fromServer = chunks.some((c) => c.server)
  const serverKinds = fromServer ? new Array<string>(n).fill('') : undefined
  const parts = new Map<
    string,
    { device: number; metric: string; rows: Uint32Array[]; values: Float64Array[] }
  >()
  let base = 0
  for (const c of chunks) {
    const map = c.devices.map((id) => {
      let d = deviceIndex.get(id)
      if (d === undefined) {
        d = devices.length
        devices.push(id)
        deviceIndex.set(id, d)
      }
      return d
    })
    ts.set(c.ts, base)
    line.set(c.line, base)
    level.set(c.level, base)
    for (let i = 0; i < c.n; i++) {
      device[base + i] = map[c.device[i]!]!
      body[base + i] = c.body[i]!
      if (c.msg[i] !== undefined) msg[base + i] = c.msg[i]
      if (serverKinds && c.server) serverKinds[base + i] = c.server.kinds[i]!
    }
    for (const m of c.metrics) {
      // One pass per metric column: split its values by device.
      const byDevice = new Map<number, { rows: number[]; values: number[] }>()
      for (let i = 0; i < c.n; i++) {
        const v = m.values[i]!
        if (Number.isNaN(v)) continue
        const d = map[c.device[i]!]!
        let s = byDevice.get(d)
        if (!s) {
          s = { rows: [], values: [] }
          byDevice.set(d, s)
        }
        s.rows.push(base + i)
        s.values.push(v)
      }
      for (const [d, s] of byDevice) {
        const key = `${d}\u0000${m.name}`
        let p = parts.get(key)
        if (!p) {
          p = { device: d, metric: m.name, rows: [], values: [] }
          parts.set(key, p)
        }
        p.rows.push(Uint32Array.from(s.rows))
        p.values.push(Float64Array.from(s.values))
      }
    }
    base += c.n
  }
  const series: SeriesColumns[] = [...parts.values()]
    .sort((a, b) => a.device - b.device || a.rows[0]![0]! - b.rows[0]![0]!)
    .map((p) => ({
      device: p.device,
      metric: p.metric,
      rows: concat(p.rows, u32),
      values: concat(p.values, f64),
    }))
  const tsSoFar = new Float64Array(n)
  let max = Number.NEGATIVE_INFINITY
  for (let i = 0; i < n; i++) tsSoFar[i] = max = Math.max(max, ts[i]!)
  return { n, ts, devices, device, level, msg, series, line, body, serverKinds, tsSoFar }
}

export interface KindCount {
  kind: string
  count: number
}

export interface ReplaySummary {
  records: number
  /** Records analysed so far (the timeline position). */
  done: number
  anomalies: number
  anomalousRecords: number
  byKind: KindCount[]
  ms: number
}

/** One anomaly for display, with its record's position (index and file line). */
export type AnomalyRow = Anomaly & { at: number; line: number }

export class ReplaySession {
  private analyser: Analyser
  private states = new Map<string, SeriesState>()
  private found: Found[] = []
  private windows = new Map<string, Float64Array[]>()
  private scores: Float64Array
  private done = 0
  private ms = 0

  constructor(
    private readonly kernel: Kernel,
    readonly data: Loaded,
    config: AnalysisConfigInput = {},
  ) {
    this.analyser = new Analyser(kernel, resolveAnalysisConfig(config))
    this.scores = new Float64Array(data.n)
  }

  /** New rules and detector parameters (validated); the replay starts again. */
  configure(config: AnalysisConfigInput): void {
    this.analyser = new Analyser(this.kernel, resolveAnalysisConfig(config))
    this.reset()
  }

  reset(): void {
    this.states = new Map()
    this.found = []
    this.windows = new Map()
    this.scores = new Float64Array(this.data.n)
    this.done = 0
    this.ms = 0
  }

  get position(): number {
    return this.done
  }

  /** How many records have ts at or before `t` in the timeline's order. */
  recordsUntil(t: number): number {
    const a = this.data.tsSoFar
    let lo = 0
    let hi = a.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (a[mid]! <= t) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Analyses records up to `end` (exclusive); going back starts again from the first record. */
  runTo(end: number): Found[] {
    const target = Math.max(0, Math.min(this.data.n, Math.floor(end)))
    if (target < this.done) this.reset()
    if (target === this.done) return []
    const t0 = performance.now()
    const from = this.done
    const result = this.analyser.analyseColumns(slice(this.data, from, target), this.states)
    for (const s of result.states) this.states.set(seriesKey(s.deviceId, s.metric), s)
    this.scores.set(result.scores, from)
    const added: Found[] = result.found.map((f) => ({ at: f.at + from, anomaly: f.anomaly }))
    for (const f of added) this.found.push(f)
    for (const w of result.windows) {
      const key = seriesKey(w.deviceId, w.metric)
      const list = this.windows.get(key)
      if (list) list.push(w.packed)
      else this.windows.set(key, [w.packed])
    }
    this.done = target
    this.ms += performance.now() - t0
    return added
  }

  runAll(): ReplaySummary {
    this.reset()
    this.runTo(this.data.n)
    return this.summary()
  }

  summary(): ReplaySummary {
    const byKind = new Map<string, number>()
    let anomalous = 0
    let last = -1
    for (const f of this.found) {
      byKind.set(f.anomaly.kind, (byKind.get(f.anomaly.kind) ?? 0) + 1)
      if (f.at !== last) anomalous++
      last = f.at
    }
    return {
      records: this.data.n,
      done: this.done,
      anomalies: this.found.length,
      anomalousRecords: anomalous,
      byKind: [...byKind].map(([kind, count]) => ({ kind, count })).sort((a, b) => b.count - a.count),
      ms: this.ms,
    }
  }

  /** Anomalies found so far, optionally for one device, a page at a time. */
  anomalies(
    filter: { deviceId?: string; kind?: string } = {},
    offset = 0,
    limit = 200,
  ): { rows: AnomalyRow[]; total: number } {
    const matching = this.found.filter(
      (f) =>
        (!filter.deviceId || f.anomaly.deviceId === filter.deviceId) &&
        (!filter.kind || f.anomaly.kind === filter.kind),
    )
    return {
      total: matching.length,
      rows: matching
        .slice(offset, offset + limit)
        .map(({ at, anomaly }) => ({ at, line: this.data.line[at]!, ...anomaly })),
    }
  }

  /** All anomalies of one device found so far (for chart markers). */
  anomaliesOf(deviceId: string): Found[] {
    return this.found.filter((f) => f.anomaly.deviceId === deviceId)
  }

  /** Closed windows of one series, packed (see windowFeatures). */
  windowsOf(deviceId: string, metric: string): Float64Array {
    return concat(this.windows.get(seriesKey(deviceId, metric)) ?? [], f64)
  }

  /** Per record: the local score and kinds (comma separated), for export and comparison. */
  verdicts(): { scores: Float64Array; kinds: string[] } {
    const kinds = new Array<string>(this.data.n).fill('')
    for (const { at, anomaly } of this.found) {
      const k = kinds[at]!
      if (!k) kinds[at] = anomaly.kind
      else if (!k.split(',').includes(anomaly.kind)) kinds[at] = `${k},${anomaly.kind}`
    }
    return { scores: this.scores, kinds }
  }
}

/** Records [from, to) as a batch of their own (series rows rebased to the batch). */
export function slice(data: Loaded, from: number, to: number): RecordColumns {
  if (from === 0 && to === data.n) return data
  const series: SeriesColumns[] = []
  for (const s of data.series) {
    const a = lowerBound(s.rows, from)
    const b = lowerBound(s.rows, to)
    if (a === b) continue
    const rows = new Uint32Array(b - a)
    for (let i = a; i < b; i++) rows[i - a] = s.rows[i]! - from
    series.push({ device: s.device, metric: s.metric, rows, values: s.values.subarray(a, b) })
  }
  return {
    n: to - from,
    ts: data.ts.subarray(from, to),
    devices: data.devices,
    device: data.device.subarray(from, to),
    level: data.level.subarray(from, to),
    msg: data.msg.slice(from, to),
    series,
  }
}

/** The first index of sorted `a` whose value is at least `x`. */
export function lowerBound(a: Uint32Array, x: number): number {
  let lo = 0
  let hi = a.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (a[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

const f64 = (n: number) => new Float64Array(n)
const u32 = (n: number) => new Uint32Array(n)
