// A device record: validation of one parsed JSON value into a DeviceRecord.

import { parseTimestamp } from './time.js'
import { type DeviceRecord, LEVELS, type Level } from './types.js'

export const LIMITS = {
  deviceIdLength: 128,
  metricNameLength: 64,
  metricsPerRecord: 64,
  recordBytes: 64 * 1024,
}

const RESERVED = new Set(['deviceId', 'ts', 'level', 'msg', 'metrics'])
const levels = new Set<string>(LEVELS)
// Printable, no control characters: device ids appear in URLs, logs and CSV.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const DEVICE_ID = /^[^\u0000-\u001f\u007f]+$/
/** Half a surrogate pair: not a character. SQLite would store it as U+FFFD, another id than sent. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

export type RecordResult = { ok: true; record: DeviceRecord } | { ok: false; reason: string }

/**
 * Validates a parsed JSON value as a record. `body` is its JSON text when the caller has it
 * (an NDJSON line), to avoid serialising it again. `device`, for records a device sends under its
 * own credential, is the deviceId of a record that has none.
 */
export function toRecord(value: unknown, now: number, body?: string, device?: string): RecordResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'a record must be a JSON object' }
  }
  const obj = value as Record<string, unknown>
  const deviceId = obj.deviceId ?? device
  if (typeof deviceId !== 'string' || deviceId.length === 0) {
    return { ok: false, reason: 'deviceId is required and must be a non-empty string' }
  }
  if (deviceId.length > LIMITS.deviceIdLength || !DEVICE_ID.test(deviceId) || LONE_SURROGATE.test(deviceId)) {
    return { ok: false, reason: `deviceId must be 1-${LIMITS.deviceIdLength} printable characters` }
  }
  let ts = now
  if (obj.ts !== undefined && obj.ts !== null) {
    const parsed = parseTimestamp(obj.ts)
    if (typeof parsed === 'string') return { ok: false, reason: parsed }
    ts = parsed
  }
  let level: Level | undefined
  if (obj.level !== undefined && obj.level !== null) {
    if (typeof obj.level !== 'string' || !levels.has(obj.level.toLowerCase())) {
      return { ok: false, reason: `level must be one of ${LEVELS.join(', ')}` }
    }
    level = obj.level.toLowerCase() as Level
  }
  if (obj.msg !== undefined && obj.msg !== null && typeof obj.msg !== 'string') {
    return { ok: false, reason: 'msg must be a string' }
  }
  const metrics: [string, number][] = []
  const problem = collectMetrics(obj, metrics, true) ?? collectNested(obj.metrics, metrics)
  if (problem) return { ok: false, reason: problem }
  let text: string
  try {
    text = body ?? JSON.stringify(obj)
  } catch {
    return { ok: false, reason: 'record is too deeply nested' }
  }
  if (text.length > LIMITS.recordBytes) {
    return { ok: false, reason: `record is larger than ${LIMITS.recordBytes} bytes` }
  }
  return {
    ok: true,
    record: { deviceId, ts, level, msg: obj.msg as string | undefined, metrics, body: text },
  }
}

function collectNested(nested: unknown, into: [string, number][]): string | undefined {
  if (nested === undefined || nested === null) return undefined
  if (typeof nested !== 'object' || Array.isArray(nested)) return 'metrics must be an object of numbers'
  return collectMetrics(nested as Record<string, unknown>, into, false)
}

/** Adds the finite numeric fields as metrics; a nested metric overrides a top-level one of the same name. */
function collectMetrics(
  obj: Record<string, unknown>,
  into: [string, number][],
  topLevel: boolean,
): string | undefined {
  for (const name in obj) {
    if (topLevel && RESERVED.has(name)) continue
    const v = obj[name]
    if (typeof v !== 'number') continue
    if (!Number.isFinite(v)) return `metric ${name.slice(0, 64)} is not a finite number`
    if (name.length === 0 || name.length > LIMITS.metricNameLength || LONE_SURROGATE.test(name)) {
      return `metric names must be 1-${LIMITS.metricNameLength} characters`
    }
    const existing = topLevel ? -1 : into.findIndex(([n]) => n === name)
    if (existing >= 0) into[existing] = [name, v]
    else into.push([name, v])
    if (into.length > LIMITS.metricsPerRecord)
      return `a record may carry at most ${LIMITS.metricsPerRecord} metrics`
  }
  return undefined
}
