// Small statistics for the sensor tests (not used by the sensors themselves).

export function mean(xs: readonly number[]): number {
  let s = 0
  for (const x of xs) s += x
  return s / xs.length
}

export function std(xs: readonly number[]): number {
  const m = mean(xs)
  let s = 0
  for (const x of xs) s += (x - m) * (x - m)
  return Math.sqrt(s / (xs.length - 1))
}

/** Pearson correlation. */
export function correlation(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs)
  const my = mean(ys)
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < xs.length; i++) {
    const dx = xs[i]! - mx
    const dy = ys[i]! - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  return sxy / Math.sqrt(sxx * syy)
}

/** Whether every value of a reading is a finite number. */
export function allFinite(reading: Record<string, number>): boolean {
  return Object.values(reading).every((v) => typeof v === 'number' && Number.isFinite(v))
}

/** 2026-01-05 00:00 UTC, a Monday. */
export const MONDAY = Date.UTC(2026, 0, 5)
export const MINUTE = 60_000
export const HOUR = 3_600_000
