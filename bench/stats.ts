// Small helpers shared by the benchmarks.

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Runs fn `runs` times after `warmup` runs; returns each run's wall time in seconds. */
export function timeRuns(fn: () => void, runs: number, warmup = 2): number[] {
  for (let i = 0; i < warmup; i++) fn()
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint()
    fn()
    times.push(Number(process.hrtime.bigint() - t0) / 1e9)
  }
  return times
}

/** Prints the benchmark's result: a readable block on stderr-free stdout, then one JSON line last. */
export function report(result: Record<string, unknown>): void {
  console.log(JSON.stringify(result))
}
