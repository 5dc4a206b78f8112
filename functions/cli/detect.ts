// `edgewatch detect`: the server's analysis (rules and Wasm kernels) over a file, row by row,
// in bounded memory: rows flow through in chunks, only the per-series detector state is kept.
import { once } from 'node:events'
import { createWriteStream, statSync } from 'node:fs'
import type { Writable } from 'node:stream'
import { SingleBar } from 'cli-progress'
import { stringify } from 'csv-stringify'
import type { Kernel } from '../../kernels/host/kernel.js'
import { Analyser } from '../domain/analyse.js'
import { type AnalysisConfig, withStateBaseline } from '../domain/analysis-config.js'
import { ExportCheck, type ExportState, pickColumns, type RowColumns, rowToRecord } from '../domain/rows.js'
import type { DeviceRecord, SeriesState } from '../domain/types.js'
import { type Cell, type Column, ParquetRowGroups } from '../routes/export-encoders.js'
import { seriesKey } from '../store/port.js'
import { formatFromName, type InputFormat, openInput, type Row, readRows } from './rows.js'

export interface DetectOptions {
  input: string
  format?: InputFormat
  output?: string
  outputFormat?: 'csv' | 'ndjson' | 'parquet'
  timeColumn?: string
  deviceColumn?: string
  /** Device id for rows without a device column. */
  device?: string
  chunkRows?: number
  progress?: boolean
  /** The first `baseline` rows of each device are its normal state (the state detector's baseline). */
  baseline?: number
}

export interface DetectSummary {
  rows: number
  scored: number
  anomalousRows: number
  invalid: { line: number; reason: string }[]
  invalidCount: number
  /**
   * Whether the input was a server export whose footer counted every record (`complete`), export
   * lines with no footer (`unterminated`), or another file (`plain`). An incomplete export throws.
   */
  export: Exclude<ExportState, { incomplete: string }>
}

export async function detect(
  kernel: Kernel,
  analysis: AnalysisConfig,
  opts: DetectOptions,
): Promise<DetectSummary> {
  const format = opts.format ?? formatFromName(opts.input)
  if (!format) throw new Error(`cannot tell the format of ${opts.input}: pass --format csv|ndjson|json`)
  // The output's name decides (x.csv, x.ndjson, x.parquet), else the input's format (CSV stays CSV).
  const named = opts.output ? outputFormatFromName(opts.output) : undefined
  const outputFormat = opts.outputFormat ?? named ?? (format === 'csv' ? 'csv' : 'ndjson')
  const analyser = new Analyser(
    kernel,
    opts.baseline === undefined ? analysis : withStateBaseline(analysis, opts.baseline),
  )
  const states = new Map<string, SeriesState>()
  const summary: DetectSummary = {
    rows: 0,
    scored: 0,
    anomalousRows: 0,
    invalid: [],
    invalidCount: 0,
    export: 'plain',
  }
  const out: Writable = opts.output && opts.output !== '-' ? createWriteStream(opts.output) : process.stdout
  const bar = progressBar(opts)
  const writer =
    outputFormat === 'csv'
      ? csvWriter(out)
      : outputFormat === 'parquet'
        ? parquetWriter(out)
        : ndjsonWriter(out)
  const exportCheck = new ExportCheck()
  let columns: RowColumns | undefined
  let chunk: Row[] = []

  const flush = async () => {
    const records: (DeviceRecord | undefined)[] = chunk.map((row) => {
      if (!row.fields || row.error) return undefined
      columns ??= pickColumns(row.fields, opts)
      const r = rowToRecord(row.fields, columns, opts.device ?? 'device', row.text)
      if (typeof r !== 'string') return r.record
      row.error = r
      return undefined
    })
    const valid = records.filter((r): r is DeviceRecord => r !== undefined)
    const result = analyser.analyse(valid, states)
    for (const s of result.states) states.set(seriesKey(s.deviceId, s.metric), s)
    let v = 0
    const rows = chunk.map((row, i): OutRow => {
      summary.rows++
      const fields = written(row, columns?.device)
      if (!records[i]) {
        const reason = row.error ?? 'unreadable row'
        summary.invalidCount++
        if (summary.invalid.length < 20) summary.invalid.push({ line: row.line, reason })
        return { fields, error: reason }
      }
      const verdict = result.verdicts[v++]!
      summary.scored++
      if (verdict.kinds.length) summary.anomalousRows++
      return { fields, score: verdict.score, kinds: verdict.kinds }
    })
    await writer.write(rows)
    chunk = []
  }

  let bytes = 0
  const input = openInput(opts.input, (n) => {
    bytes += n
    bar?.update(bytes)
  })
  for await (const row of readRows(input, format)) {
    if (exportCheck.isEnd(row)) continue
    chunk.push(row)
    if (chunk.length >= (opts.chunkRows ?? 8192)) await flush()
  }
  await flush()
  await writer.end()
  bar?.stop()
  const state = exportCheck.finish()
  if (typeof state === 'object')
    throw new Error(
      `the export is incomplete: ${state.incomplete} (the ${summary.rows} rows read were scored and written)`,
    )
  summary.export = state
  return summary
}

/** The fields written back: a CSV device id as read (`007`), not the number it looks like. */
function written(row: Row, device: string | undefined): Record<string, unknown> | undefined {
  if (!row.fields || !row.text || device === undefined || !(device in row.text)) return row.fields
  return { ...row.fields, [device]: row.text[device] }
}

/** A row as written back: its fields (none when unreadable), and its verdict or why it has none. */
interface OutRow {
  fields: Record<string, unknown> | undefined
  score?: number
  kinds?: string[]
  error?: string
}

interface RowWriter {
  /** A chunk of rows, in order. */
  write(rows: OutRow[]): Promise<void>
  end(): Promise<void>
}

async function write(out: Writable, data: string | Uint8Array): Promise<void> {
  if (!out.write(data)) await once(out, 'drain')
}

async function finish(out: Writable): Promise<void> {
  if (out === process.stdout) return
  out.end()
  await once(out, 'finish')
}

/** One object per row; an unreadable line becomes `{"_error": reason, "score": null, ...}`. */
function ndjsonWriter(out: Writable): RowWriter {
  const line = ({ fields, score, kinds = [], error }: OutRow) =>
    JSON.stringify({ ...(fields ?? { _error: error }), score: score ?? null, anomalies: kinds.join(',') }) +
    '\n'
  return {
    write: (rows) => write(out, rows.map(line).join('')),
    end: () => finish(out),
  }
}

/**
 * The header is every field name of the first chunk's rows (first seen first), then `score`,
 * `anomalies` and `error` (the reason a row was not scored). It is written before later chunks are
 * read, so a field that first appears after the first chunk is not in the output.
 */
function csvWriter(out: Writable): RowWriter {
  let names: string[] | undefined
  const csv = stringify()
  csv.pipe(out, { end: false })
  const put = async (cells: unknown[]) => {
    if (!csv.write(cells)) await once(csv, 'drain')
  }
  return {
    async write(rows) {
      if (!names) {
        names = fieldNames(rows)
        await put([...names, 'score', 'anomalies', reasonColumn(names)])
      }
      for (const { fields = {}, score, kinds = [], error } of rows)
        await put([...names.map((k) => fields[k] ?? ''), score ?? '', kinds.join(','), error ?? ''])
    },
    async end() {
      csv.end()
      await once(csv, 'end')
      await finish(out)
    },
  }
}

/** The rows' field names, first seen first; `score` and `anomalies` are the new verdict's columns. */
function fieldNames(rows: OutRow[]): string[] {
  const names = new Set<string>()
  for (const { fields } of rows)
    for (const k of Object.keys(fields ?? {})) if (k !== 'score' && k !== 'anomalies') names.add(k)
  return [...names]
}

/**
 * Parquet, a row group per chunk of rows (`chunkRows`, 8192 by default), written as each is scored.
 * Columns as in CSV: the fields of the first chunk's rows, then `score` (DOUBLE, null when not
 * scored), `anomalies` and `error`. A field is a DOUBLE column when every value it has in the first
 * chunk is a number, else a STRING column (strings as read, other values as JSON); a later value
 * that is not a number is written as null in a DOUBLE column. The footer is written by end(): a run
 * that fails part way leaves a file no Parquet reader accepts.
 */
function parquetWriter(out: Writable): RowWriter {
  let names: string[] | undefined
  let file: ParquetRowGroups | undefined
  let numeric: boolean[] = []
  const text = (v: unknown) =>
    v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)
  return {
    async write(rows) {
      if (!names) {
        const found = fieldNames(rows)
        names = found
        numeric = found.map((k) => {
          const values = rows.map((r) => r.fields?.[k]).filter((v) => v !== undefined && v !== null)
          return values.length > 0 && values.every((v) => typeof v === 'number')
        })
        const columns: Column[] = [
          ...found.map((name, i) => ({
            name,
            type: numeric[i] ? ('DOUBLE' as const) : ('STRING' as const),
            nullable: true,
          })),
          { name: 'score', type: 'DOUBLE', nullable: true },
          { name: 'anomalies', type: 'STRING', nullable: false },
          { name: reasonColumn(found), type: 'STRING', nullable: true },
        ]
        file = new ParquetRowGroups(columns)
      }
      const cells: Cell[][] = rows.map(({ fields = {}, score, kinds = [], error }) => [
        ...names!.map((k, i) => {
          const v = fields[k]
          return numeric[i] ? (typeof v === 'number' ? v : null) : text(v)
        }),
        score ?? null,
        kinds.join(','),
        error ?? null,
      ])
      await write(out, file!.group(cells))
    },
    async end() {
      // no rows at all: a file of no columns but the verdict's
      file ??= new ParquetRowGroups([
        { name: 'score', type: 'DOUBLE', nullable: true },
        { name: 'anomalies', type: 'STRING', nullable: false },
        { name: 'error', type: 'STRING', nullable: true },
      ])
      await write(out, file.finish())
      await finish(out)
    },
  }
}

/** The output format a file's name asks for (x.csv, x.ndjson, x.jsonl, x.parquet). */
function outputFormatFromName(name: string): 'csv' | 'ndjson' | 'parquet' | undefined {
  if (name.toLowerCase().endsWith('.parquet')) return 'parquet'
  const named = formatFromName(name)
  return named === 'csv' || named === 'ndjson' ? named : undefined
}

/** `error`, or `_error` (and so on) when the rows have an `error` field of their own. */
function reasonColumn(names: string[]): string {
  let name = 'error'
  while (names.includes(name)) name = `_${name}`
  return name
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
