// Keyset paging shared by every adapter. Cursors are opaque: base64url of a JSON array whose first
// element tags the listing it belongs to. Decoding is strict, so anything we did not make is rejected.
import type { Page } from '../domain/types.js'
import { InvalidCursorError } from './port.js'

/** Room for device ids of several KB; bounds the work spent on hostile input. */
const MAX_CURSOR_LENGTH = 16_384
const BASE64URL = /^[A-Za-z0-9_-]+$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

export interface AnomalyKey {
  ts: number
  id: number
}

export const anomalyCursor = {
  encode: (k: AnomalyKey): string => encode(['a', k.ts, k.id]),
  decode: (cursor: string): AnomalyKey => {
    const [, ts, id] = decode(cursor, 'a', 3)
    if (!isTs(ts) || !isId(id)) throw invalid()
    return { ts, id }
  },
}

export const deviceCursor = {
  encode: (deviceId: string): string => encode(['d', deviceId]),
  decode: (cursor: string): string => {
    const [, deviceId] = decode(cursor, 'd', 2)
    if (typeof deviceId !== 'string') throw invalid()
    return deviceId
  },
}

/**
 * A place in the fleet's live feed (GET /v1/stream): the last anomaly id and the last device event id
 * delivered. Both tables take increasing ids in commit order (one writer at a time), so "after this
 * pair" names exactly what is still to come from each.
 */
export interface FeedPosition {
  anomaly: number
  event: number
}

export const feedCursor = {
  encode: (p: FeedPosition): string => encode(['f', p.anomaly, p.event]),
  decode: (cursor: string): FeedPosition => {
    const [, anomaly, event] = decode(cursor, 'f', 3)
    if (!isPosition(anomaly) || !isPosition(event)) throw invalid()
    return { anomaly, event }
  },
}

/** A cursor over a listing by descending id, tagged so that one listing's cursor fails on another. */
function idCursor(tag: string) {
  return {
    encode: (id: number): string => encode([tag, id]),
    decode: (cursor: string): number => {
      const [, id] = decode(cursor, tag, 2)
      if (!isId(id)) throw invalid()
      return id
    },
  }
}

export const deadLetterCursor = idCursor('l')
export const deviceEventCursor = idCursor('e')
export const enrolmentTokenCursor = idCursor('t')
export const appCursor = idCursor('p')
export const deploymentCursor = idCursor('y')
export const deploymentDeviceCursor = idCursor('v')

/** A time bound must be a number: NaN would bind as NULL in SQL and silently match nothing. */
export function checkTime(value: number, name: string): void {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new RangeError(`${name} must be a number`)
}

/** Page sizes must be positive integers (SQLite reads LIMIT -1 as "no limit"). */
export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer')
}

function encode(value: unknown[]): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value))
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function decode(cursor: string, tag: string, length: number): unknown[] {
  if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) {
    throw invalid()
  }
  let value: unknown
  try {
    const binary = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'))
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
    value = JSON.parse(utf8.decode(bytes))
  } catch {
    throw invalid()
  }
  if (!Array.isArray(value) || value.length !== length || value[0] !== tag) throw invalid()
  // Only canonical encodings: no second spelling of the same cursor.
  if (encode(value) !== cursor) throw invalid()
  return value
}

function isTs(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v)
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v)
}

function isPosition(v: unknown): v is number {
  return isId(v) && v >= 0
}

function invalid(): InvalidCursorError {
  return new InvalidCursorError('invalid cursor')
}

/** A page from `limit + 1` fetched rows: the extra row only tells that there is a next page. */
export function toPage<T>(rows: T[], limit: number, cursorOf: (last: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows, next: null }
  const items = rows.slice(0, limit)
  return { items, next: cursorOf(items[limit - 1]!) }
}
