// Influx line protocol: one line into a point, or the reason it is not one, in InfluxDB 1.x's own
// words ("missing field value", "invalid boolean", …) so that clients and people read the errors
// they know. One pass over the line, no regular expression on the whole of it, no exception: the
// work is linear in the line's length whatever it holds.
//
//   measurement[,tag=value…] field=value[,field=value…] [timestamp]
//
// Escapes as InfluxDB reads them: in the measurement `\,` and `\ `; in tag keys, tag values and
// field keys `\,`, `\=` and `\ ` (a character after a backslash never ends a name); in string field
// values `\"` and `\\`. A newline always ends a line (the line protocol reference does not allow one
// in a value), so a line that opens a quote and does not close it is refused on its own.

export type FieldValue =
  | { type: 'float'; value: number }
  | { type: 'integer'; value: number }
  | { type: 'unsigned'; value: number }
  | { type: 'boolean'; value: boolean }
  | { type: 'string'; value: string }

export interface Point {
  measurement: string
  /** In the order sent; keys are unique. */
  tags: [key: string, value: string][]
  /** In the order first sent; a key sent twice keeps its last value. */
  fields: [key: string, value: FieldValue][]
  /** The timestamp as sent (digits, maybe a leading `-`), in the request's precision; undefined when absent. */
  timestamp: bigint | undefined
}

export type ParsedLine = { ok: true; point: Point } | { ok: false; error: string }

const SPACE = 0x20
const TAB = 0x09
const COMMA = 0x2c
const EQUALS = 0x3d
const BACKSLASH = 0x5c
const QUOTE = 0x22

const INT64_MAX = 9223372036854775807n
const INT64_MIN = -9223372036854775808n
const UINT64_MAX = 18446744073709551615n
/** InfluxDB's time range in ns (models.MinNanoTime, MaxNanoTime). */
export const MIN_NANO_TIME = -9223372036854775806n
export const MAX_NANO_TIME = 9223372036854775806n

const FLOAT = /^[-]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/
const SIGNED_DIGITS = /^-?\d+$/
const BOOLEANS = new Map<string, boolean>([
  ['t', true],
  ['T', true],
  ['true', true],
  ['True', true],
  ['TRUE', true],
  ['f', false],
  ['F', false],
  ['false', false],
  ['False', false],
  ['FALSE', false],
])

const fail = (error: string): ParsedLine => ({ ok: false, error })

/** Whether a line holds nothing to parse: blank, or a comment (`#` first, after blanks). */
export function isSkipped(line: string): boolean {
  let i = 0
  while (i < line.length && isBlank(line.charCodeAt(i))) i++
  return i === line.length || line.charCodeAt(i) === 0x23
}

/**
 * Parses one line (without its line break; a trailing `\r` is the caller's to strip). Leading
 * blanks are skipped. Callers skip blank and comment lines first (isSkipped).
 */
export function parseLine(line: string): ParsedLine {
  const n = line.length
  let i = 0
  while (i < n && isBlank(line.charCodeAt(i))) i++

  // Measurement: up to an unescaped comma or space.
  const mStart = i
  if (i >= n || line.charCodeAt(i) === COMMA) return fail('missing measurement')
  i = scanName(line, i, false)
  const measurement = unescapeMeasurement(line.slice(mStart, i))
  if (i >= n) return fail('missing fields')

  // Tags.
  const tags: [string, string][] = []
  if (line.charCodeAt(i) === COMMA) {
    for (;;) {
      i++ // past the comma
      const kStart = i
      i = scanName(line, i, true)
      if (i === kStart) return fail('missing tag key')
      if (i >= n || line.charCodeAt(i) !== EQUALS) return fail('missing tag value')
      const key = unescapeName(line.slice(kStart, i))
      i++ // past =
      const vStart = i
      // InfluxDB takes an `=` as a tag value's first character (only a later one is invalid).
      if (i < n && line.charCodeAt(i) === EQUALS) i++
      i = scanName(line, i, true)
      if (i < n && line.charCodeAt(i) === EQUALS) return fail('invalid tag format')
      if (i === vStart) return fail('missing tag value')
      tags.push([key, unescapeName(line.slice(vStart, i))])
      if (i >= n) return fail('missing fields')
      if (line.charCodeAt(i) !== COMMA) break
    }
    if (hasDuplicateKeys(tags)) return fail('duplicate tags')
  }

  // Blanks, then fields: first checked as InfluxDB scans them, so that a line with several faults
  // is refused for the one InfluxDB names; then read.
  while (i < n && isBlank(line.charCodeAt(i))) i++
  const fieldsError = scanFields(line, i)
  if (fieldsError !== undefined) return fail(fieldsError)
  const fields: [string, FieldValue][] = []
  /** Where each key is in `fields`, once there are enough of them for a scan to cost. */
  let at: Map<string, number> | undefined
  for (;;) {
    const kStart = i
    i = scanName(line, i, true)
    if (i >= n || line.charCodeAt(i) !== EQUALS)
      // `a,=1`: InfluxDB names the key missing after the comma.
      return fail(
        line.charCodeAt(i) === COMMA && line.charCodeAt(i + 1) === EQUALS
          ? 'missing field key'
          : 'invalid field format',
      )
    if (i === kStart) return fail('missing field key')
    const key = unescapeName(line.slice(kStart, i))
    i++ // past =
    if (i >= n || line.charCodeAt(i) === SPACE || line.charCodeAt(i) === COMMA)
      return fail('missing field value')
    let value: FieldValue | string
    if (line.charCodeAt(i) === QUOTE) {
      const vStart = i + 1
      i = vStart
      while (i < n && line.charCodeAt(i) !== QUOTE) i += line.charCodeAt(i) === BACKSLASH ? 2 : 1
      if (i >= n) return fail('unbalanced quotes')
      value = { type: 'string', value: unescapeString(line.slice(vStart, i)) }
      i++ // past the closing quote
      if (i < n && line.charCodeAt(i) !== SPACE && line.charCodeAt(i) !== COMMA) {
        // Something after the closing quote: InfluxDB reads on, quotes opening and closing, to
        // the value's end; refused either way, with the message it would give when unbalanced.
        let quoted = false
        for (; i < n; i++) {
          const c = line.charCodeAt(i)
          if (c === BACKSLASH) i++
          else if (c === QUOTE) quoted = !quoted
          else if (!quoted && (c === SPACE || c === COMMA)) break
        }
        return fail(quoted ? 'unbalanced quotes' : 'invalid field format')
      }
    } else {
      const vStart = i
      while (i < n && line.charCodeAt(i) !== SPACE && line.charCodeAt(i) !== COMMA) i++
      value = fieldValue(line.slice(vStart, i))
      if (typeof value === 'string') return fail(value)
    }
    const existing = at ? (at.get(key) ?? -1) : fields.findIndex(([k]) => k === key)
    if (existing >= 0) fields[existing] = [key, value]
    else {
      at?.set(key, fields.length)
      fields.push([key, value])
      if (!at && fields.length > 8) at = new Map(fields.map(([k], index) => [k, index]))
    }
    if (i >= n || line.charCodeAt(i) !== COMMA) break
    i++ // past the comma
  }

  // Blanks, then the timestamp, then nothing else.
  while (i < n && isBlank(line.charCodeAt(i))) i++
  let timestamp: bigint | undefined
  if (i < n) {
    const tStart = i
    while (i < n && line.charCodeAt(i) !== SPACE) i++
    const text = line.slice(tStart, i)
    if (text === '-') return fail('strconv.ParseInt: parsing "-": invalid syntax')
    if (!SIGNED_DIGITS.test(text)) return fail('bad timestamp')
    timestamp = BigInt(text)
    if (timestamp > INT64_MAX || timestamp < INT64_MIN)
      return fail(`strconv.ParseInt: parsing ${JSON.stringify(text)}: value out of range`)
    while (i < n && line.charCodeAt(i) === SPACE) i++
    if (i < n) return fail('point is invalid')
  }
  return { ok: true, point: { measurement, tags, fields, timestamp } }
}

/**
 * The first fault of the fields section from `i`, found as InfluxDB's models.scanFields finds it:
 * left to right, each value checked at its `=`, the keys' shape only at the end.
 */
function scanFields(line: string, i: number): string | undefined {
  const n = line.length
  let quoted = false
  let equals = 0
  let commas = 0
  while (i < n) {
    const c = line.charCodeAt(i)
    if (c === BACKSLASH && i + 1 < n) {
      i += 2
      continue
    }
    if (c === QUOTE && equals > commas) {
      quoted = !quoted
      i++
      continue
    }
    if (c === EQUALS && !quoted) {
      equals++
      const before = line.charCodeAt(i - 1)
      if ((before === SPACE || before === COMMA) && line.charCodeAt(i - 2) !== BACKSLASH)
        return 'missing field key'
      const next = line.charCodeAt(i + 1)
      if (i + 1 >= n || next === COMMA || next === SPACE) return 'missing field value'
      if (next !== QUOTE) {
        let end = i + 1
        while (end < n && line.charCodeAt(end) !== COMMA && line.charCodeAt(end) !== SPACE) end++
        const value = fieldValue(line.slice(i + 1, end))
        if (typeof value === 'string') return value
        i = end
        continue
      }
    }
    if (c === COMMA && !quoted) commas++
    if (c === SPACE && !quoted) break
    i++
  }
  if (quoted) return 'unbalanced quotes'
  if (equals === 0 || commas !== equals - 1) return 'invalid field format'
  return undefined
}

/**
 * The end of a name starting at `i`: the first comma or blank (and `=` when `stopAtEquals`) not
 * escaped, that is not right after a backslash (InfluxDB's own rule: `a\\ b` is one name).
 */
function scanName(line: string, i: number, stopAtEquals: boolean): number {
  const n = line.length
  for (; i < n; i++) {
    const c = line.charCodeAt(i)
    if (i > 0 && line.charCodeAt(i - 1) === BACKSLASH) continue
    if (c === COMMA || c === SPACE || (stopAtEquals && c === EQUALS)) return i
  }
  return i
}

/**
 * A field value that is not a string: a number, an integer (`i`), an unsigned integer (`u`) or a
 * boolean; or why not, in the order InfluxDB's scanner finds it (models.scanNumber, scanBoolean).
 */
function fieldValue(text: string): FieldValue | string {
  const first = text.charCodeAt(0)
  // InfluxDB reads a value as a number when it starts with a digit, `.`, `-`, or n/N (NaN).
  const numeric = isNumeric(first) || first === 0x2d || first === 0x4e || first === 0x6e
  if (!numeric) {
    const b = BOOLEANS.get(text)
    return b === undefined ? 'invalid boolean' : { type: 'boolean', value: b }
  }
  const n = text.length
  let i = first === 0x2d ? 1 : 0
  if (i === n) return 'invalid number'
  let isInt = false
  let isUnsigned = false
  let decimal = false
  let scientific = false
  for (; i < n; i++) {
    const c = text.charCodeAt(i)
    if (i > 0 && !(isInt || isUnsigned) && (c === 0x69 /* i */ || c === 0x75) /* u */) {
      if (c === 0x69) isInt = true
      else isUnsigned = true
      continue
    }
    if (c === 0x2e /* . */) {
      if (decimal) return 'invalid number'
      decimal = true
    }
    if (i > 0 && (c === 0x65 || c === 0x45) /* e E */) {
      scientific = true
      continue
    }
    const previous = text.charCodeAt(i - 1)
    if ((c === 0x2b || c === 0x2d) && (previous === 0x65 || previous === 0x45)) continue
    if (!isNumeric(c)) return 'invalid number'
  }
  if ((isInt || isUnsigned) && (decimal || scientific)) return 'invalid number'
  const digits = n - (isInt ? 1 : 0) - (decimal ? 1 : 0) - (first === 0x2d ? 1 : 0)
  if (digits === 0) return 'invalid number'
  const last = text.charCodeAt(n - 1)
  if (isInt) {
    if (last !== 0x69) return 'invalid number'
    const body = text.slice(0, -1)
    const big = BigInt(body)
    if (big > INT64_MAX || big < INT64_MIN)
      return `unable to parse integer ${body}: strconv.ParseInt: parsing ${JSON.stringify(body)}: value out of range`
    return { type: 'integer', value: Number(big) }
  }
  if (isUnsigned) {
    if (last !== 0x75 || first === 0x2d) return 'invalid number'
    const body = text.slice(0, -1)
    const big = BigInt(body)
    if (big > UINT64_MAX)
      return `unable to parse unsigned ${body}: strconv.ParseUint: parsing ${JSON.stringify(body)}: value out of range`
    return { type: 'unsigned', value: Number(big) }
  }
  if (!FLOAT.test(text)) return 'invalid float'
  const value = Number(text)
  if (!Number.isFinite(value)) return 'invalid float'
  return { type: 'float', value }
}

/** A digit or `.`. */
function isNumeric(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e
}

/** What InfluxDB skips before a line, its fields and its timestamp: spaces, tabs and NUL. */
function isBlank(c: number): boolean {
  return c === SPACE || c === TAB || c === 0
}

/** Measurement names unescape `\,` and `\ ` only (InfluxDB's measurementEscapeCodes). */
function unescapeMeasurement(text: string): string {
  if (text.indexOf('\\') < 0) return text
  return text.replaceAll('\\,', ',').replaceAll('\\ ', ' ')
}

/** Tag keys, tag values and field keys unescape `\,`, `\ ` and `\=` (InfluxDB's tagEscapeCodes). */
function unescapeName(text: string): string {
  if (text.indexOf('\\') < 0) return text
  return text.replaceAll('\\,', ',').replaceAll('\\ ', ' ').replaceAll('\\=', '=')
}

/** String field values unescape `\"` and `\\`; any other backslash is kept as sent. */
function unescapeString(text: string): string {
  if (text.indexOf('\\') < 0) return text
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    const next = text[i + 1]
    if (c === '\\' && (next === '"' || next === '\\')) {
      out += next
      i++
    } else out += c
  }
  return out
}

function hasDuplicateKeys(tags: [string, string][]): boolean {
  if (tags.length < 2) return false
  if (tags.length <= 8) {
    for (let a = 1; a < tags.length; a++)
      for (let b = 0; b < a; b++) if (tags[a]![0] === tags[b]![0]) return true
    return false
  }
  return new Set(tags.map(([k]) => k)).size !== tags.length
}
