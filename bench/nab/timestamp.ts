// NAB timestamps: "YYYY-MM-DD HH:MM:SS" with an optional fraction of a second (labels use ".ffffff").
// They carry no zone; we read them as UTC milliseconds, which keeps their order and spacing.

const PATTERN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/

/** Epoch milliseconds of a NAB timestamp, or NaN when the text is not one. */
export function parseNabTimestamp(text: string): number {
  const m = PATTERN.exec(text)
  if (!m) return Number.NaN
  const [, y, mo, d, h, mi, s, frac] = m
  const month = Number(mo)
  const day = Number(d)
  const hour = Number(h)
  const minute = Number(mi)
  const second = Number(s)
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return Number.NaN
  }
  const ms = frac ? Number(frac.padEnd(6, '0')) / 1000 : 0
  return Date.UTC(Number(y), month - 1, day, hour, minute, second) + ms
}
