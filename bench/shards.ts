// Edge ingest with 1 and with N shards, side by side: the Worker under wrangler dev (workerd through
// miniflare, local D1 and Durable Objects), the same distinct 1,000-record NDJSON batches (40
// devices, time moving forward), CONNECTIONS clients posting for SECONDS each run. Prints a line per
// run and one JSON object last. BENCH_SHARDS=1,4 (default), BENCH_DURATION=10, BENCH_CONNECTIONS=8,
// BENCH_BATCHES=mixed (default: every batch holds all 40 devices, so 4 shards split each one) or
// device (each batch one device's records, as a device or a gateway per device sends them: no split).
import { type RunningRuntime, workerdRuntime } from '../test/runtimes.js'
import { percentile } from './abuse/tally.js'
import { report } from './stats.js'

const SECONDS = Number(process.env.BENCH_DURATION ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8)
const SHARDS = (process.env.BENCH_SHARDS ?? '1,4').split(',').map(Number)
const TOKEN = 'bench-shards-ingest-token'
const ENV = { EDGEWATCH_INGEST_TOKEN: TOKEN, EDGEWATCH_ADMIN_TOKEN: 'bench-shards-admin-token' }
const RECORDS = 1000
const DEVICES = 40
const LAYOUT = process.env.BENCH_BATCHES === 'device' ? 'device' : 'mixed'

/** Distinct batches, each device's time moving forward from one to the next. */
function batches(count: number, start: number): string[] {
  const out: string[] = []
  let clock = start
  for (let b = 0; b < count; b++) {
    const lines: string[] = []
    for (let i = 0; i < RECORDS; i++) {
      if (LAYOUT === 'device' || i % DEVICES === 0) clock += 1000
      const d = LAYOUT === 'device' ? b % DEVICES : i % DEVICES
      lines.push(
        JSON.stringify({
          deviceId: `edge-${d}`,
          ts: clock,
          temp: Math.round((20 + Math.sin(clock / 9e4 + d) * 3) * 100) / 100,
          hum: 40 + ((i * 7) % 5),
          msg: 'ok',
        }),
      )
    }
    out.push(lines.join('\n'))
  }
  return out
}

interface Run {
  shards: number
  records_per_s: number
  requests: number
  p50_ms: number
  p99_ms: number
  failed: number
}

async function run(shards: number): Promise<Run> {
  let rt: RunningRuntime | undefined
  try {
    rt = await workerdRuntime.start({ ...ENV, EDGEWATCH_SHARDS: String(shards) })
    const url = `${rt.url}/v1/ingest`
    const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/x-ndjson' }
    // Enough batches that none is sent twice: each run starts from the same clock on a fresh store.
    const bodies = batches(Math.max(300, SECONDS * 200), Date.UTC(2026, 0, 1))
    let next = 0
    const post = async () => {
      const started = performance.now()
      const res = await fetch(url, { method: 'POST', body: bodies[next++ % bodies.length], headers })
      const body = (await res.json()) as { accepted?: number }
      return { ms: performance.now() - started, ok: res.status === 200, accepted: body.accepted ?? 0 }
    }
    for (let i = 0; i < 3; i++) await post() // every shard's object started
    const latencies: number[] = []
    let accepted = 0
    let failed = 0
    const until = performance.now() + SECONDS * 1000
    const started = performance.now()
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < until) {
          const r = await post()
          latencies.push(r.ms)
          if (r.ok) accepted += r.accepted
          else failed++
        }
      }),
    )
    const seconds = (performance.now() - started) / 1000
    return {
      shards,
      records_per_s: Math.round(accepted / seconds),
      requests: latencies.length,
      p50_ms: Math.round(percentile(latencies, 50) ?? 0),
      p99_ms: Math.round(percentile(latencies, 99) ?? 0),
      failed,
    }
  } finally {
    await rt?.stop()
  }
}

const runs: Run[] = []
for (const shards of SHARDS) {
  const r = await run(shards)
  runs.push(r)
  process.stderr.write(`${JSON.stringify(r)}\n`)
}
const base = runs[0]!.records_per_s
report({
  bench: 'shards',
  runtime: 'workerd (wrangler dev, miniflare)',
  seconds: SECONDS,
  connections: CONNECTIONS,
  records_per_batch: RECORDS,
  devices: DEVICES,
  batches: LAYOUT,
  runs,
  speedup: runs.map((r) => Math.round((r.records_per_s / base) * 100) / 100),
})
