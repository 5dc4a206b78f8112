// One ingest request before it joins the commit queue: its body parsed into records, the
// rejections listed in its answer, what goes to the dead letters, or the refusal (400) it gets.
// It runs per request, outside the group commit, so a slow or hostile body delays only itself.
import { bytesLetter, type Letter, textLetter } from './dead-letters.js'
import {
  BodyError,
  type BodyFormat,
  type ParsedBody,
  type Pause,
  parseBody,
  type Rejection,
} from './ingest-body.js'
import type { DeviceRecord } from './types.js'

export interface IngestInput {
  /** The body as text; undefined when the bytes are not UTF-8. */
  text: string | undefined
  /** The body's bytes (after decompression), kept in the dead letters when they are not text. */
  bytes: Uint8Array
  /** A JSON format, or a parser of another protocol's body (Influx line protocol, OTLP). */
  format: BodyFormat | BodyParser | BinaryBodyParser
  contentType: string
  idempotencyKey: string | undefined
  /** Set when the body could not be read as sent (a broken gzip stream): refused, its bytes kept. */
  unreadable?: { code: string; message: string } | undefined
  /** The device whose own credential sent this: its records default to it, and may be only its. */
  device?: string | undefined
}

/** Reads a body of another format into records and rejections, as parseBody does for JSON. */
export type BodyParser = (text: string, now: number, pause: Pause, device?: string) => Promise<ParsedBody>

/** Reads a body's bytes (protobuf need not be UTF-8): an empty body is handed to it too. */
export interface BinaryBodyParser {
  binary: (bytes: Uint8Array, now: number, pause: Pause, device?: string) => Promise<ParsedBody>
  /** Whether the body is text (JSON) and is kept as text in a dead letter; else as its bytes. */
  textual: boolean
}

export type Listed = Omit<Rejection, 'raw'>

export interface Prepared {
  records: DeviceRecord[]
  rejectedCount: number
  /** The rejections the answer lists: the first ones, by position. */
  rejected: Listed[]
  letters: Letter[]
  refusal?: { code: string; message: string; details: unknown } | undefined
}

/** A body refused whole: nothing stored, its dead letters (if any) kept. */
const refusal = (code: string, message: string, letters: Letter[], details: unknown = null): Prepared => ({
  records: [],
  rejectedCount: letters.length,
  rejected: letters.length ? [{ reason: message }] : [],
  letters,
  refusal: { code, message, details },
})

export async function prepare(input: IngestInput, now: number, pause: Pause): Promise<Prepared> {
  const { contentType } = input
  if (input.unreadable) {
    const { code, message } = input.unreadable
    return refusal(code, message, [await bytesLetter('body', message, contentType, input.bytes)])
  }
  if (typeof input.format === 'object') return parsedInto(input, now, pause, input.format)
  if (input.text === undefined) {
    const reason = 'body is not valid UTF-8'
    return refusal('invalid_encoding', reason, [await bytesLetter('body', reason, contentType, input.bytes)])
  }
  // A search, not trim(): trim would copy a large body to find out.
  if (!/\S/.test(input.text)) return refusal('empty_body', 'the body holds no records', [])
  return parsedInto(input, now, pause, input.format)
}

async function parsedInto(
  input: IngestInput,
  now: number,
  pause: Pause,
  format: IngestInput['format'],
): Promise<Prepared> {
  let parsed: Awaited<ReturnType<typeof parseBody>>
  try {
    parsed =
      typeof format === 'object'
        ? await format.binary(input.bytes, now, pause, input.device)
        : typeof format === 'function'
          ? await format(input.text!, now, pause, input.device)
          : await parseBody(input.text!, format, now, pause, input.device)
  } catch (e) {
    if (!(e instanceof BodyError)) throw e
    return refusal('invalid_body', e.message, [await wholeLetter(e.message, input)])
  }
  const { records, rejected, rejectedCount } = parsed
  const letters = await lettersFor(rejected, rejectedCount, input)
  const listed = rejected.map(({ raw: _, ...where }) => where)
  if (records.length === 0) {
    const message = 'no record in the body could be accepted'
    return {
      records,
      rejectedCount,
      rejected: listed,
      letters,
      refusal: { code: 'no_valid_records', message, details: { rejectedCount, rejected: listed } },
    }
  }
  return { records, rejectedCount, rejected: listed, letters }
}

/**
 * A dead letter per kept rejection; when some rejections were only counted (or could not be kept
 * on their own), one more that keeps the whole body, so that nothing sent is lost.
 */
async function lettersFor(rejected: Rejection[], count: number, input: IngestInput): Promise<Letter[]> {
  const letters: Letter[] = []
  let unkept = count - rejected.length
  for (const r of rejected) {
    const position = r.line !== undefined ? `line ${r.line}` : `index ${r.index}`
    if (r.raw === undefined) unkept++
    else letters.push(await textLetter(position, r.reason, input.contentType, r.raw))
  }
  if (unkept > 0) {
    const reason =
      `${count} entries were rejected; ${unkept} of them have no dead letter of their own, ` +
      'so this one keeps the whole body'
    letters.push(await wholeLetter(reason, input))
  }
  return letters
}

/** A dead letter that keeps the whole body: as text when it is text, else its bytes. */
function wholeLetter(reason: string, input: IngestInput): Promise<Letter> {
  const binary = typeof input.format === 'object' && !input.format.textual
  return input.text === undefined || binary
    ? bytesLetter('body', reason, input.contentType, input.bytes)
    : textLetter('body', reason, input.contentType, input.text, input.bytes)
}
