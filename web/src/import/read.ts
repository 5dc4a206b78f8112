// Bytes to rows in the browser (and in Node for tests): gunzip when the bytes say gzip, decode
// UTF-8, then CSV (csv-parse, the library the CLI uses), NDJSON or a JSON document. The row rules
// themselves are shared with `edgewatch detect` (functions/domain/rows.ts).
import { parse } from 'csv-parse/browser/esm'
import {
  csvRow,
  formatFromName,
  formatFromText,
  type InputFormat,
  jsonRows,
  ndjsonRow,
  type Row,
} from '../../../functions/domain/rows.js'

const GZIP_MAGIC = [0x1f, 0x8b]
/** A line (or CSV record) longer than this is refused: records are at most 64 KiB anyway. */
export const MAX_LINE_CHARS = 1 << 20
/** A JSON document is read whole; past this size, NDJSON or CSV is the way. */
export const MAX_JSON_CHARS = 256 << 20

/** The stream of raw bytes, with a callback per chunk read (for progress). */
function counted(stream: ReadableStream<Uint8Array>, onBytes: (n: number) => void) {
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        onBytes(chunk.byteLength)
        controller.enqueue(chunk)
      },
    }),
  )
}

/** Text chunks of the input, gunzipped when it starts with the gzip magic bytes. */
async function* textOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = stream.getReader()
  const first = await reader.read()
  if (first.done) return
  const head = first.value
  const gzip = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(head)
    },
    async pull(controller) {
      const { done, value } = await reader.read()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel: (reason) => reader.cancel(reason),
  })
  const bytes = gzip
    ? rest.pipeThrough(new DecompressionStream('gzip') as ReadableWritablePair<Uint8Array, Uint8Array>)
    : rest
  const text = bytes.pipeThrough(
    new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>,
  )
  const textReader = text.getReader()
  for (;;) {
    const { done, value } = await textReader.read()
    if (done) return
    yield value
  }
}

export interface ReadOptions {
  /** The file name, to tell the format; the content decides when the name does not. */
  name?: string
  format?: InputFormat
  onBytes?: (n: number) => void
}

/** Rows of a CSV (with a header), NDJSON or JSON input, streaming except for a JSON document. */
export async function* readRows(
  stream: ReadableStream<Uint8Array>,
  opts: ReadOptions = {},
): AsyncGenerator<Row, InputFormat> {
  const texts = textOf(counted(stream, opts.onBytes ?? (() => {})))
  const first = await texts.next()
  if (first.done) return opts.format ?? 'ndjson'
  const format = opts.format ?? formatFromName(opts.name ?? '') ?? formatFromText(first.value)
  async function* all() {
    yield first.value as string
    yield* texts
  }
  if (format === 'ndjson') yield* ndjsonLines(all())
  else if (format === 'csv') yield* csvRows(all())
  else {
    let whole = ''
    for await (const t of all()) {
      whole += t
      if (whole.length > MAX_JSON_CHARS) {
        yield {
          line: 1,
          error: `a JSON document over ${MAX_JSON_CHARS >> 20} MiB: use NDJSON or CSV for files this large`,
        }
        return format
      }
    }
    yield* jsonRows(whole)
  }
  return format
}

const tooLong = (line: number): Row => ({ line, error: `line longer than ${MAX_LINE_CHARS} characters` })

async function* ndjsonLines(texts: AsyncIterable<string>): AsyncGenerator<Row> {
  let line = 0
  let carry = ''
  /** Inside an over-long line: its text is dropped until the next newline. */
  let skipping = false
  for await (const text of texts) {
    const parts = (carry + text).split('\n')
    carry = parts.pop() ?? ''
    for (const part of parts) {
      line++
      if (skipping) {
        skipping = false
        continue
      }
      const trimmed = part.endsWith('\r') ? part.slice(0, -1) : part
      if (trimmed.length > MAX_LINE_CHARS) yield tooLong(line)
      else if (trimmed.trim() !== '') yield ndjsonRow(line, trimmed)
    }
    if (carry.length > MAX_LINE_CHARS) {
      if (!skipping) yield tooLong(line + 1)
      skipping = true
      carry = ''
    }
  }
  if (skipping) return
  line++
  if (carry.trim() !== '') yield ndjsonRow(line, carry)
}

interface CsvRecord {
  record: string[]
  info: { lines: number }
}

async function* csvRows(texts: AsyncIterable<string>): AsyncGenerator<Row> {
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    trim: true,
    info: true,
    relax_column_count: true,
    max_record_size: MAX_LINE_CHARS,
  })
  const ready: CsvRecord[] = []
  let failure: Error | undefined
  parser.on('data', (r: CsvRecord) => ready.push(r))
  parser.on('error', (e: Error) => {
    failure = e
  })
  const ended = new Promise<void>((resolve) => {
    parser.on('end', () => resolve())
    parser.on('error', () => resolve())
  })
  let header: string[] | undefined
  function* drain(): Generator<Row> {
    for (const { record, info } of ready.splice(0)) {
      if (!header) header = record
      else yield csvRow(info.lines, header, record)
    }
  }
  for await (const text of texts) {
    parser.write(text)
    yield* drain()
    if (failure) break
  }
  if (!failure) {
    parser.end()
    await ended
    yield* drain()
  }
  if (failure)
    yield { line: (failure as Error & { lines?: number }).lines ?? 0, error: `CSV: ${failure.message}` }
}
