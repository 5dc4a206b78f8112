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
import { toRecord } from '../domain/record.js'
import { parseTimestamp } from '../domain/time.js'
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

const TIME_COLUMNS = ['ts', 'timestamp', 'time', 'datetime', 'date']
const DEVICE_COLUMNS = ['deviceId', 'device_id', 'device']

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
  let columns: { time?: string; device?: string } | undefined
  let chunk: Row[] = []

  const flush = async () => {
    const records: (DeviceRecord | undefined)[] = chunk.map((row) => {
      if (!row.fields || row.error) return undefined
      columns ??= pickColumns(row.fields, opts)
      const r = rowToRecord(row.fields, columns, opts.device ?? 'device')
      if (typeof r !== 'string') return r
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

function pickColumns(
  first: Record<string, unknown>,
  opts: DetectOptions,
): { time?: string; device?: string } {
  const names = Object.keys(first)
  const find = (given: string | undefined, candidates: string[], what: string) => {
    if (given !== undefined) {
      if (!names.includes(given))
        throw new Error(`no ${what} column named ${given}; columns are: ${names.join(', ')}`)
      return given
    }
    return (
      candidates.find((c) => names.includes(c)) ?? names.find((n) => candidates.includes(n.toLowerCase()))
    )
  }
  return {
    time: find(opts.timeColumn, TIME_COLUMNS, 'time'),
    device: find(opts.deviceColumn, DEVICE_COLUMNS, 'device'),
  }
}

/** A row as the server would see it: deviceId and ts in place, every other numeric field a metric. */
function rowToRecord(
  fields: Record<string, unknown>,
  columns: { time?: string; device?: string },
  fallbackDevice: string,
) {
  const obj: Record<string, unknown> = { ...fields }
  if (columns.time) {
    const ts = parseTimestamp(fields[columns.time], true)
    if (typeof ts === 'string') return ts
    delete obj[columns.time]
    obj.ts = ts
  } else {
    return 'no time column (name it ts, timestamp or time, or pass --time-column)'
  }
  if (columns.device) {
    obj.deviceId = fields[columns.device] === undefined ? undefined : String(fields[columns.device])
    if (columns.device !== 'deviceId') delete obj[columns.device]
  } else {
    obj.deviceId = fallbackDevice
  }
  const r = toRecord(obj, 0, '')
  return r.ok ? r.record : r.reason
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
