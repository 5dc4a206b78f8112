// Timestamps: ISO-8601 strings, `YYYY-MM-DD hh:mm:ss` (UTC) and epoch numbers, to epoch ms.

const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/
/** Latest accepted instant: year 2200. Earliest: the epoch. */
export const MAX_TS = 7_258_118_400_000

/** Parses an ISO-8601 string; a string without an offset is taken as UTC. NaN when invalid. */
export function parseIsoTime(text: string): number {
  if (text.length > 40 || !ISO.test(text)) return Number.NaN
  let iso = text.replace(' ', 'T')
  if (iso.length > 10 && !/(Z|[+-]\d{2}:?\d{2})$/.test(iso)) iso += 'Z'
  return Date.parse(iso)
}

/**
 * Parses a timestamp value to epoch ms, or returns an error message.
 * Numbers are epoch ms; with `secondsToo`, numbers below 1e11 are epoch seconds.
 */
export function parseTimestamp(value: unknown, secondsToo = false): number | string {
  let ms: number
  if (typeof value === 'number') {
    ms = secondsToo && Math.abs(value) < 1e11 ? value * 1000 : value
  } else if (typeof value === 'string') {
    const trimmed = value.trim()
    ms = /^-?\d+(\.\d+)?$/.test(trimmed)
      ? (parseTimestamp(Number(trimmed), secondsToo) as number)
      : parseIsoTime(trimmed)
    if (typeof ms !== 'number') return `invalid timestamp: ${JSON.stringify(value).slice(0, 60)}`
  } else {
    return 'ts must be an ISO-8601 string or epoch milliseconds'
  }
  if (!Number.isFinite(ms)) return `invalid timestamp: ${JSON.stringify(value).slice(0, 60)}`
  if (ms < 0 || ms > MAX_TS) return `timestamp out of range: ${JSON.stringify(value).slice(0, 60)}`
  return Math.round(ms)
}
