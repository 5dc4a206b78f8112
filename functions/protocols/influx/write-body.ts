// A line protocol body into device records and rejections, for the one ingest path (it plays the
// part parseBody plays for JSON). One line, one record:
//
//   cpu,host=pump-7,core=0 usage=41.5,procs=12i,ok=true,state="idle" 1700000000000000000
//   → {"deviceId":"pump-7","ts":1700000000000,"time":"2023-11-14T22:13:20Z","measurement":"cpu",
//      "tags":{"host":"pump-7","core":"0"},"metrics":{"cpu.usage":41.5,"cpu.procs":12,"cpu.ok":1},
//      "fields":{"state":"idle"}}
//
// The device is the value of the first of the configured tags the point has (default `device`,
// then `host`). Numeric fields (floats, `i` integers, `u` unsigned) and booleans (1 and 0) are the
// record's metrics, named `measurement.field`; string fields are kept under `fields`, except `msg`
// and `level`, which are the record's own. `time` is the exact timestamp (RFC 3339, to the
// nanosecond, as InfluxDB shows it); `ts` is it in milliseconds. Bounded as the JSON bodies are:
// only the first rejections are kept one by one, a line longer than a record may be is refused
// unread, and the parse pauses for other requests now and then.
import { Collector, type ParsedBody, type Pause } from '../../domain/ingest-body.js'
import { LIMITS, type RecordResult, toRecord } from '../../domain/record.js'
import { MAX_TS } from '../../domain/time.js'
import type { InfluxApi } from './answers.js'
import { isSkipped, MAX_NANO_TIME, MIN_NANO_TIME, type Point, parseLine } from './line-protocol.js'

/** Timestamp precisions and how many nanoseconds one unit is. */
export const NS_PER_UNIT = {
  ns: 1n,
  us: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
} as const
export type Precision = keyof typeof NS_PER_UNIT

/**
 * Precisions by the names each API takes (v1 also takes InfluxDB 1.x's one-letter names): read by
 * the write routes, and by the Workers front door to cut a write by shard.
 */
export const PRECISIONS: Record<InfluxApi, Record<string, Precision>> = {
  v1: { '': 'ns', n: 'ns', ns: 'ns', u: 'us', us: 'us', ms: 'ms', s: 's', m: 'm', h: 'h' },
  v2: { '': 'ns', ns: 'ns', us: 'us', ms: 'ms', s: 's' },
}

/** The tags that name a point's device, in order, when none is configured. */
export const DEFAULT_DEVICE_TAGS: readonly string[] = ['device', 'host']

export interface LineProtocolOptions {
  precision: Precision
  /** Tag keys whose value is the device id, the first present wins. */
  deviceTags: readonly string[]
}

/** Longer lines are refused without parsing: a record holds at most LIMITS.recordBytes. */
export const MAX_LINE_CHARS = LIMITS.recordBytes
/** What InfluxDB skips before a line. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is one of them
const LEADING_BLANKS = /^[ \t\u0000]+/
/** How much of a line an error message quotes. */
const QUOTED_CHARS = 1024

/**
 * A body parser for the ingest path: lines that parse and make a valid record are records; every
 * other line that is not blank or a comment is rejected with its line number and InfluxDB's
 * message (`unable to parse '<line>': <why>`), or `unable to store '<line>': <why>` for a point
 * that parsed but cannot be a record (no device tag, too many metrics, out of range).
 */
export function lineProtocolParser(options: LineProtocolOptions) {
  return async (text: string, now: number, pause: Pause, device?: string): Promise<ParsedBody> => {
    const c = new Collector(pause)
    let start = 0
    let line = 0
    while (start < text.length) {
      let end = text.indexOf('\n', start)
      if (end < 0) end = text.length
      line++
      const lineEnd = end > start && text.charCodeAt(end - 1) === 0x0d ? end - 1 : end
      const lineText = text.slice(start, lineEnd)
      start = end + 1
      if (c.due()) await c.pauseNow()
      if (lineText.length > MAX_LINE_CHARS) {
        c.reject(
          { line },
          parseError(lineText, `line is longer than ${MAX_LINE_CHARS} characters`),
          () => lineText,
        )
        continue
      }
      if (isSkipped(lineText)) continue
      const parsed = parseLine(lineText)
      if (!parsed.ok) {
        c.reject({ line }, parseError(lineText, parsed.error), () => lineText)
        continue
      }
      const r = pointRecord(parsed.point, options, now, device)
      if ('error' in r) c.reject({ line }, parseError(lineText, r.error), () => lineText)
      else if (r.ok) c.out.records.push(r.record)
      else c.reject({ line }, `unable to store '${quoted(lineText)}': ${r.reason}`, () => lineText)
    }
    return c.out
  }
}

/** A point as a record, or why it cannot be one (`error`: InfluxDB itself refuses it too). */
export function pointRecord(
  point: Point,
  options: LineProtocolOptions,
  now: number,
  device?: string,
): RecordResult | { error: string } {
  let deviceId: string | undefined
  for (const key of options.deviceTags) {
    const tag = point.tags.find(([k]) => k === key)
    if (tag) {
      deviceId = tag[1]
      break
    }
  }
  deviceId ??= device
  if (deviceId === undefined)
    return {
      ok: false,
      reason: `no device tag: a point needs one of the tags ${options.deviceTags.join(', ')}`,
    }
  let ts = now
  let time: string | undefined
  if (point.timestamp === undefined) time = new Date(now).toISOString()
  else {
    const ns = point.timestamp * NS_PER_UNIT[options.precision]
    if (ns < MIN_NANO_TIME || ns > MAX_NANO_TIME)
      return { error: `time outside range ${MIN_NANO_TIME} - ${MAX_NANO_TIME}` }
    // Floored, so that a time before the epoch stays before it.
    ts = Number((ns >= 0n ? ns : ns - 999_999n) / 1_000_000n)
    if (ns >= 0n && ts <= MAX_TS) time = rfc3339Nano(ns)
  }
  const tags: Record<string, string> = {}
  for (const [k, v] of point.tags) put(tags, k, v)
  const record: Record<string, unknown> = { deviceId, ts, time, measurement: point.measurement, tags }
  const metrics: Record<string, number> = {}
  let strings: Record<string, string> | undefined
  for (const [key, f] of point.fields) {
    if (f.type === 'string') {
      if (key === 'msg' || key === 'level') record[key] = f.value
      else {
        strings ??= {}
        put(strings, key, f.value)
      }
    } else metrics[`${point.measurement}.${key}`] = f.type === 'boolean' ? (f.value ? 1 : 0) : f.value
  }
  record.metrics = metrics
  if (strings) record.fields = strings
  return toRecord(record, now, undefined, device)
}

/** A key set as data, even `__proto__` (which an assignment would take as the object's prototype). */
function put(into: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') Object.defineProperty(into, key, { value, enumerable: true, writable: true })
  else into[key] = value
}

/** The last second formatted: points of a batch mostly share their seconds. */
let lastSecond = Number.NaN
let lastSecondText = ''

/** `2023-11-14T22:13:20.123456789Z` for ns ≥ 0, trailing zeros of the fraction dropped (Go's RFC3339Nano). */
export function rfc3339Nano(ns: bigint): string {
  const second = Number(ns / 1_000_000_000n)
  if (second !== lastSecond) {
    lastSecondText = new Date(second * 1000).toISOString().slice(0, 19)
    lastSecond = second
  }
  const nanos = Number(ns % 1_000_000_000n)
  if (nanos === 0) return `${lastSecondText}Z`
  return `${lastSecondText}.${String(nanos).padStart(9, '0').replace(/0+$/, '')}Z`
}

function parseError(line: string, why: string): string {
  return `unable to parse '${quoted(line)}': ${why}`
}

/**
 * The line as an error message quotes it: from its first character that is not blank (as InfluxDB
 * quotes it), whole up to QUOTED_CHARS, then cut with an ellipsis.
 */
function quoted(text: string): string {
  const line = text.replace(LEADING_BLANKS, '')
  if (line.length <= QUOTED_CHARS) return line
  let end = QUOTED_CHARS
  const code = line.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end--
  return `${line.slice(0, end)}…`
}
