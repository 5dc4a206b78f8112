// The replay worker: the Wasm kernel and a replay session over one dataset, off the main thread.
import { expose, transfer } from 'comlink'
import { prettifyError, ZodError } from 'zod'
import type { AnalysisConfigInput } from '../../../functions/domain/analysis-config.js'
import kernelUrl from '../../../kernels/build/edgewatch.wasm?url'
import { type Kernel, loadKernel } from '../../../kernels/host/kernel.js'
import { DatasetStore } from '../store/datasets.js'
import { compareKinds } from './compare.js'
import { decimate } from './decimate.js'
import { paramsJson, resultsCsv, resultsNdjson } from './results.js'
import { join, lowerBound, ReplaySession } from './session.js'

export interface MetricTrace {
  metric: string
  ts: Float64Array
  values: Float64Array
  /** Anomalies of this metric (and record-level ones such as `error`) in the range shown. */
  markers: { ts: number; value: number | null; kind: string }[]
}

let kernel: Promise<Kernel> | undefined
let session: ReplaySession | undefined
let config: AnalysisConfigInput = {}

function loadKernelOnce(): Promise<Kernel> {
  kernel ??= fetch(kernelUrl)
    .then((r) => {
      if (!r.ok) throw new Error(`cannot load the kernel (${r.status})`)
      return r.arrayBuffer()
    })
    .then((bytes) => loadKernel(bytes))
  return kernel
}

function current(): ReplaySession {
  if (!session) throw new Error('open a dataset first')
  return session
}

const api = {
  async open(datasetId: string) {
    const store = await DatasetStore.open()
    try {
      const dataset = await store.get(datasetId)
      if (!dataset) throw new Error(`no dataset ${datasetId}`)
      const t0 = performance.now()
      const data = join(await store.chunks(datasetId))
      const loadMs = performance.now() - t0
      session = new ReplaySession(await loadKernelOnce(), data, config)
      return {
        dataset,
        loadMs,
        series: data.series.map((s) => ({ deviceId: data.devices[s.device]!, metric: s.metric })),
      }
    } finally {
      store.close()
    }
  },

  /** New parameters (the same shape as the server's configuration); throws when invalid. */
  configure(next: AnalysisConfigInput) {
    try {
      session?.configure(next)
    } catch (e) {
      throw e instanceof ZodError ? new Error(`invalid parameters: ${prettifyError(e)}`) : e
    }
    config = next
    return session ? session.runAll() : undefined
  },

  runAll() {
    return current().runAll()
  },

  /** Advances the timeline to time `t` (epoch ms); going back replays from the start. */
  runUntil(t: number) {
    const s = current()
    s.runTo(s.recordsUntil(t))
    return s.summary()
  },

  summary() {
    return current().summary()
  },

  anomalies(filter: { deviceId?: string; kind?: string }, offset: number, limit: number) {
    return current().anomalies(filter, offset, limit)
  },

  /** The device's series up to the timeline position, decimated for display, with markers. */
  traces(deviceId: string, from: number, to: number, maxPoints: number): MetricTrace[] {
    const s = current()
    const d = s.data.devices.indexOf(deviceId)
    const anomalies = s.anomaliesOf(deviceId)
    const out: MetricTrace[] = []
    for (const series of s.data.series) {
      if (series.device !== d) continue
      const n = lowerBound(series.rows, s.position)
      const ts = new Float64Array(n)
      for (let i = 0; i < n; i++) ts[i] = s.data.ts[series.rows[i]!]!
      const shown = decimate(ts, series.values.subarray(0, n), from, to, maxPoints)
      const markers = anomalies
        .filter(
          (f) =>
            (f.anomaly.metric === series.metric || f.anomaly.metric === undefined) &&
            f.anomaly.ts >= from &&
            f.anomaly.ts <= to,
        )
        .map((f) => ({ ts: f.anomaly.ts, value: f.anomaly.value, kind: f.anomaly.kind }))
      out.push(
        transfer({ metric: series.metric, ts: shown.ts, values: shown.values, markers }, [
          shown.ts.buffer,
          shown.values.buffer,
        ]),
      )
    }
    return out
  },

  windows(deviceId: string, metric: string): Float64Array {
    return current().windowsOf(deviceId, metric)
  },

  /** The server's verdicts against the local run's, record by record. */
  compare() {
    const s = current()
    if (!s.data.serverKinds) throw new Error('this dataset did not come from a server export')
    return compareKinds(s.data.serverKinds, s.verdicts().kinds)
  },

  /** A file of the results: records with score and kinds, or the parameter set. */
  exportResults(format: 'ndjson' | 'csv' | 'params'): Blob {
    if (format === 'params') return new Blob([paramsJson(config)], { type: 'application/json' })
    const s = current()
    const { scores, kinds } = s.verdicts()
    const lines =
      format === 'csv' ? resultsCsv(s.data.body, scores, kinds) : resultsNdjson(s.data.body, scores, kinds)
    const parts: string[] = []
    let part = ''
    for (const line of lines) {
      part += line
      if (part.length > 1 << 20) {
        parts.push(part)
        part = ''
      }
    }
    parts.push(part)
    return new Blob(parts, { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' })
  },
}

export type ReplayApi = typeof api

expose(api)
