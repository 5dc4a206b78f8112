// The side-by-side workload shared by bench:ingest and bench:protocols: the same 300 distinct
// 1,000-record batches (40 devices, two metrics and a message each, time moving forward), and a
// load of one kind of body on BENCH_CONNECTIONS (10) connections for a number of seconds.
import autocannon from 'autocannon'
import type { BenchRecord } from './influx.js'

export const BATCH = 1000
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10)

/** 300 distinct bodies' worth of records, 1,000 each from 40 devices. */
export function comparisonRecords(): BenchRecord[][] {
  const batches: BenchRecord[][] = []
  let t = Date.UTC(2026, 10, 2)
  for (let b = 0; b < 300; b++) {
    const batch: BenchRecord[] = []
    for (let i = 0; i < BATCH; i++) {
      const device = i % 40
      if (device === 0) t += 1000
      const temp = 40 + Math.sin((t / 60_000) * (1 + device / 20)) * 5 + ((i * 7919 + b) % 13) / 10
      batch.push({
        deviceId: `pump-${String(device).padStart(3, '0')}`,
        ts: t,
        temp: Math.round(temp * 100) / 100,
        latencyMs: 20 + ((i * 31 + b) % 50),
        msg: i % 97 === 0 ? 'pressure warning' : 'telemetry',
      })
    }
    batches.push(batch)
  }
  return batches
}

/** Posts the bodies (BATCH records each) round-robin for `seconds`; records/s counts 2xx only. */
export async function load(
  url: string,
  path: string,
  headers: Record<string, string>,
  bodies: (string | Buffer)[],
  seconds: number,
) {
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: bodies.map((body) => ({ method: 'POST', path, headers, body })),
  })
  return {
    recordsPerS: (r['2xx'] * BATCH) / seconds,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    ok: r['2xx'],
  }
}
