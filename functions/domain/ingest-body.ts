// Ingest bodies: a JSON array, one JSON object, or NDJSON, split into records and rejections.
// Work and memory stay bounded whatever arrives: only the first rejections are kept one by one (the
// rest are counted), a line that cannot be a JSON object is refused without parsing it, and the
// parse pauses now and then so that one large body does not hold up every other request.
import { toRecord } from './record.js'
import type { DeviceRecord } from './types.js'

export type BodyFormat = 'json' | 'ndjson'

/** A body entry that could not be accepted: where it was, why, and its raw text for the dead letters. */
export interface Rejection {
  index?: number
  line?: number
  reason: string
  /** Undefined when it cannot be kept on its own (too deeply nested to serialise again). */
  raw: string | undefined
}

export interface ParsedBody {
  records: DeviceRecord[]
  /** The first REJECTIONS_KEPT rejections, in body order. */
  rejected: Rejection[]
  /** Every rejection, kept or only counted. */
  rejectedCount: number
}

/** Rejections kept one by one (each its own dead letter, listed in the answer); the rest are counted. */
export const REJECTIONS_KEPT = 100
/**
 * Lines that look like JSON objects but fail to parse cost V8 an exception each (about 5 µs): past
 * this many in one body, the body is refused whole instead of spending seconds on them.
 */
export const INVALID_JSON_MAX = 1000
/** Entries handled between checks of the clock; the parse pauses once a slice has run this long. */
const CHECK_EVERY = 4096
const SLICE_MS = 10

/** Lets other work run (other requests' parsing, commits, answers) between slices of a long parse. */
export type Pause = () => Promise<void>
const noPause: Pause = async () => {}

const NDJSON_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
])

/** The body format for a Content-Type header, or undefined when unsupported. */
export function formatOf(contentType: string | undefined | null): BodyFormat | undefined {
  const mime = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  if (mime === 'application/json' || mime.endsWith('+json')) return 'json'
  if (NDJSON_TYPES.has(mime)) return 'ndjson'
  return undefined
}

export class BodyError extends Error {
  override name = 'BodyError'
}

/**
 * Splits a body into valid records and rejections. Throws BodyError when the body as a whole is
 * unusable (not JSON, or too many lines that are not JSON).
 */
export function parseBody(
  text: string,
  format: BodyFormat,
  now: number,
  pause = noPause,
  device?: string,
): Promise<ParsedBody> {
  return format === 'ndjson' ? parseNdjson(text, now, pause, device) : parseJson(text, now, pause, device)
}

/**
 * Collects rejections: the first REJECTIONS_KEPT with their raw text, the rest only counted; and
 * says when a long parse should pause. Other body formats (functions/protocols/) use it too.
 */
export class Collector {
  readonly out: ParsedBody = { records: [], rejected: [], rejectedCount: 0 }
  private sliceStart = performance.now()
  private sinceCheck = 0

  constructor(private readonly pause: Pause) {}

  reject(where: { line?: number; index?: number }, reason: string, raw: () => string | undefined): void {
    if (this.out.rejectedCount++ < REJECTIONS_KEPT) this.out.rejected.push({ ...where, reason, raw: raw() })
  }

  /** Called once per entry: whether the current slice has run long enough to pause (cheap: no promise). */
  due(): boolean {
    if (++this.sinceCheck < CHECK_EVERY) return false
    this.sinceCheck = 0
    return performance.now() - this.sliceStart >= SLICE_MS
  }

  async pauseNow(): Promise<void> {
    await this.pause()
    this.sliceStart = performance.now()
  }
}

async function parseJson(text: string, now: number, pause: Pause, device?: string): Promise<ParsedBody> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new BodyError(`body is not valid JSON: ${(e as Error).message}`)
  }
  const c = new Collector(pause)
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index]
      const r = toRecord(item, now, undefined, device)
      if (r.ok) c.out.records.push(r.record)
      else c.reject({ index }, r.reason, () => safeStringify(item))
      if (c.due()) await c.pauseNow()
    }
    return c.out
  }
  if (typeof value !== 'object' || value === null) {
    throw new BodyError('a JSON body must be a record object or an array of records')
  }
  const r = toRecord(value, now, undefined, device)
  if (r.ok) c.out.records.push(r.record)
  else c.reject({ index: 0 }, r.reason, () => text)
  return c.out
}

async function parseNdjson(text: string, now: number, pause: Pause, device?: string): Promise<ParsedBody> {
  const c = new Collector(pause)
  let invalidJson = 0
  let start = 0
  let line = 0
  while (start < text.length) {
    let end = text.indexOf('\n', start)
    if (end < 0) end = text.length
    line++
    const from = start
    start = end + 1
    if (c.due()) await c.pauseNow()
    const shape = objectShape(text, from, end)
    if (shape === 'blank') continue
    const raw = () => text.slice(from, end).replace(/\r$/, '')
    if (shape !== 'object') {
      c.reject({ line }, shape, raw)
      continue
    }
    const lineText = raw()
    let value: unknown
    try {
      value = JSON.parse(lineText)
    } catch (e) {
      if (++invalidJson > INVALID_JSON_MAX)
        throw new BodyError(
          `more than ${INVALID_JSON_MAX} lines are not valid JSON (line ${line} is one); nothing from this body was stored`,
        )
      c.reject({ line }, `invalid JSON: ${(e as Error).message}`, () => lineText)
      continue
    }
    const r = toRecord(value, now, lineText, device)
    if (r.ok) c.out.records.push(r.record)
    else c.reject({ line }, r.reason, () => lineText)
  }
  return c.out
}

/**
 * Whether text[from, to) can hold a JSON object, judged by its first and last non-blank characters
 * only: 'blank', 'object', or the reason it cannot be one. Refusing these without JSON.parse keeps a
 * body of millions of junk lines cheap.
 */
function objectShape(text: string, from: number, to: number): string {
  let a = from
  let b = to - 1
  while (a <= b && isBlank(text.charCodeAt(a))) a++
  while (b >= a && isBlank(text.charCodeAt(b))) b--
  if (a > b) return 'blank'
  if (text.charCodeAt(a) !== 0x7b) return 'a record must be a JSON object'
  if (text.charCodeAt(b) !== 0x7d)
    return 'invalid JSON: the object is not closed with } at the end of the line'
  return 'object'
}

/** JSON whitespace, as JSON.parse skips it around a value. */
function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a
}

function safeStringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return undefined
  }
}
