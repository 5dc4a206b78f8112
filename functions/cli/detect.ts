// `edgewatch detect`: the server's analysis (rules and Wasm kernels) over a file, row by row,
// in bounded memory: rows flow through in chunks, only the per-series detector state is kept.
import { once } from 'node:events'
import { createWriteStream, statSync } from 'node:fs'
import type { Writable } from 'node:stream'
import { SingleBar } from 'cli-progress'
import { stringify } from 'csv-stringify'
import type { Kernel } from '../../kernels/host/kernel.js'
import { Analyser } from '../domain/analyse.js'
import type { AnalysisConfig } from '../domain/analysis-config.js'
import { pickColumns, type RowColumns, rowToRecord } from '../domain/rows.js'
import type { DeviceRecord, SeriesState } from '../domain/types.js'
import { seriesKey } from '../store/port.js'
import { formatFromName, type InputFormat, openInput, type Row, readRows } from './rows.js'

export interface DetectOptions {
  input: string
  format?: InputFormat
  output?: string
  outputFormat?: 'csv' | 'ndjson'
  timeColumn?: string
  deviceColumn?: string
  /** Device id for rows without a device column. */
  device?: string
  chunkRows?: number
  progress?: boolean
}

export interface DetectSummary {
  rows: number
  scored: number
  anomalousRows: number
  invalid: { line: number; reason: string }[]
  invalidCount: number
}

export async function detect(
  kernel: Kernel,
  analysis: AnalysisConfig,
  opts: DetectOptions,
): Promise<DetectSummary> {
  const format = opts.format ?? formatFromName(opts.input)
  if (!format) throw new Error(`cannot tell the format of ${opts.input}: pass --format csv|ndjson|json`)
  const outputFormat =
    opts.outputFormat ??
    (opts.output && formatFromName(opts.output) === 'csv' ? 'csv' : format === 'csv' ? 'csv' : 'ndjson')
  const analyser = new Analyser(kernel, analysis)
  const states = new Map<string, SeriesState>()
  const summary: DetectSummary = { rows: 0, scored: 0, anomalousRows: 0, invalid: [], invalidCount: 0 }
  const out: Writable = opts.output && opts.output !== '-' ? createWriteStream(opts.output) : process.stdout
  const bar = progressBar(opts)
  const writer = outputFormat === 'csv' ? csvWriter(out) : ndjsonWriter(out)
  let columns: RowColumns | undefined
  let chunk: Row[] = []

  const flush = async () => {
    const records: (DeviceRecord | undefined)[] = chunk.map((row) => {
      if (!row.fields || row.error) return undefined
      columns ??= pickColumns(row.fields, opts)
      const r = rowToRecord(row.fields, columns, opts.device ?? 'device')
      if (typeof r !== 'string') return r.record
      row.error = r
      return undefined
    })
    const valid = records.filter((r): r is DeviceRecord => r !== undefined)
    const result = analyser.analyse(valid, states)
    for (const s of result.states) states.set(seriesKey(s.deviceId, s.metric), s)
    let v = 0
    for (let i = 0; i < chunk.length; i++) {
      const row = chunk[i]!
      summary.rows++
      if (!records[i]) {
        summary.invalidCount++
        if (summary.invalid.length < 20)
          summary.invalid.push({ line: row.line, reason: row.error ?? 'unreadable row' })
        await writer.write(row.fields ?? { _error: row.error }, undefined, [])
        continue
      }
      const verdict = result.verdicts[v++]!
      summary.scored++
      if (verdict.kinds.length) summary.anomalousRows++
      await writer.write(row.fields!, verdict.score, verdict.kinds)
    }
    chunk = []
  }

  let bytes = 0
  const input = openInput(opts.input, (n) => {
    bytes += n
    bar?.update(bytes)
  })
  for await (const row of readRows(input, format)) {
    chunk.push(row)
    if (chunk.length >= (opts.chunkRows ?? 8192)) await flush()
  }
  await flush()
  await writer.end()
  bar?.stop()
  return summary
}

interface RowWriter {
  write(fields: Record<string, unknown>, score: number | undefined, kinds: string[]): Promise<void>
  end(): Promise<void>
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain')
}

async function finish(out: Writable): Promise<void> {
  if (out === process.stdout) return
  out.end()
  await once(out, 'finish')
}

function ndjsonWriter(out: Writable): RowWriter {
  return {
    write: (fields, score, kinds) =>
      write(out, JSON.stringify({ ...fields, score: score ?? null, anomalies: kinds.join(',') }) + '\n'),
    end: () => finish(out),
  }
}

function csvWriter(out: Writable): RowWriter {
  let header: string[] | undefined
  const csv = stringify()
  csv.pipe(out, { end: false })
  return {
    async write(fields, score, kinds) {
      if (!header) {
        header = [...Object.keys(fields), 'score', 'anomalies']
        if (!csv.write(header)) await once(csv, 'drain')
      }
      const row = header.slice(0, -2).map((k) => fields[k] ?? '')
      if (!csv.write([...row, score ?? '', kinds.join(',')])) await once(csv, 'drain')
    },
    async end() {
      csv.end()
      await once(csv, 'end')
      await finish(out)
    },
  }
}

function progressBar(opts: DetectOptions): SingleBar | undefined {
  if (opts.progress === false || !process.stderr.isTTY || opts.input === '-') return undefined
  const bar = new SingleBar({
    stream: process.stderr,
    format: 'detect [{bar}] {percentage}% | {value}/{total} bytes | eta {eta}s',
    hideCursor: true,
  })
  bar.start(statSync(opts.input).size, 0)
  return bar
}
