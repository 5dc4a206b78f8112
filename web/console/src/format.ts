// Formatting for the console: ages, times, numbers, labels.
export { fmtInt, h } from '../../src/ui/dom.js'

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago"; "never" for null. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never'
  const ms = now - Date.parse(iso)
  if (!Number.isFinite(ms)) return '–'
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86400)} d ago`
}

/** 2026-11-30 21:15:07 (UTC). */
export const time = (iso: string | null | undefined): string =>
  iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) : '–'

export const labelText = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')

export const num = (n: number | null | undefined, digits = 3): string =>
  n === null || n === undefined
    ? '–'
    : Number.isInteger(n)
      ? n.toLocaleString('en-US')
      : n.toPrecision(digits)
