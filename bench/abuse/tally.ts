// Counting answers for bench:abuse: by status, by kind and variant of hostile body, with their times.
import { type Answer, errorCode } from './http.js'

export type Counts = Record<string, number>

export function bump(counts: Counts, key: string | number, n = 1): void {
  counts[key] = (counts[key] ?? 0) + n
}

export const round = (x: number | null, digits = 1) => (x === null ? null : Number(x.toFixed(digits)))

/** Nearest-rank percentile (p in 0-100); null for no samples. */
export function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

/** Counts and times per key. */
class Grouped {
  readonly counts: Record<string, Counts> = {}
  readonly ms: Record<string, number[]> = {}

  add(key: string, label: string, ms: number): void {
    this.counts[key] ??= {}
    bump(this.counts[key], label)
    this.ms[key] ??= []
    this.ms[key].push(ms)
  }

  /** The p-th percentile of each key's times. */
  times(p: number): Record<string, number | null> {
    return Object.fromEntries(Object.entries(this.ms).map(([k, xs]) => [k, round(percentile(xs, p))]))
  }
}

/** The hostile answers: by status; by kind; by variant with the error code the server gave. */
export class HostileTally {
  requests = 0
  readonly byStatus: Counts = {}
  readonly byKind = new Grouped()
  readonly byVariant = new Grouped()

  add(kind: string, variant: string, a: Answer): void {
    const status = String(a.status)
    const code = a.status === 'timeout' ? '' : errorCode(a)
    this.requests++
    bump(this.byStatus, status)
    this.byKind.add(kind, status, a.ms)
    this.byVariant.add(`${kind}/${variant}`, code ? `${status} ${code}`.slice(0, 80) : status, a.ms)
  }

  /** One readable line per variant. */
  lines(): string[] {
    const p50 = this.byVariant.times(50)
    const max = this.byVariant.times(100)
    return Object.entries(this.byVariant.counts).map(
      ([v, counts]) => `hostile ${v}: ${JSON.stringify(counts)}, p50 ${p50[v]} ms, max ${max[v]} ms`,
    )
  }
}
