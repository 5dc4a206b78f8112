// Ingest benchmark: records/s end to end through HTTP into SQLite with analysis. The server is the
// real `edgewatch serve` in its own process; autocannon loads it from this process with 1,000-record
// NDJSON batches on 10 connections. Also measures the bare JSON.parse rate of the same bytes.
// Then, when `influxd` is installed (Debian's `influxdb`; skipped with a notice otherwise, or with
// BENCH_INFLUX=0), the side-by-side comparison: the same 300 distinct 1,000-record batches (40 devices,
// two metrics and a message each, time moving forward) to InfluxDB's /write as line protocol and to
// a fresh edgewatch as NDJSON, 10 connections, BENCH_COMPARE_S (10) seconds each, alternating for
// BENCH_ROUNDS (3) rounds; the medians and their ratio go into the JSON line.
// BENCH_BASELINE=<a checkout of another build, built there> adds a side-by-side comparison of the two
// builds: each a fresh server, the load above for BENCH_COMPARE_S seconds, alternating for
// BENCH_ROUNDS rounds (`baseline_records_per_s`, `speedup`).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { startServer } from '../test/server-process.js'
import { influxdInstalled, lineOf, startInflux } from './ingest/influx.js'
import { comparisonRecords, load } from './ingest/workload.js'
import { median, report } from './stats.js'

const DURATION_S = Number(process.env.BENCH_DURATION ?? 20)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10)
const BATCH = 1000
const DEVICES = 100
const BODIES = 50
const SYNC = process.env.EDGEWATCH_SYNC ?? 'full'

/** Realistic telemetry: each body holds 10 records from each of 100 devices, time moving forward. */
function makeBodies(): string[] {
  const bodies: string[] = []
  let t = Date.UTC(2026, 10, 1)
  for (let b = 0; b < BODIES; b++) {
    const lines: string[] = []
    for (let i = 0; i < BATCH; i++) {
      const device = i % DEVICES
      if (device === 0) t += 1000
      const temp = 40 + Math.sin((t / 60_000) * (1 + device / 50)) * 5 + ((i * 7919) % 13) / 10
      lines.push(
        JSON.stringify({
          deviceId: `sensor-${String(device).padStart(4, '0')}`,
          ts: t,
          level: i % 97 === 0 ? 'warn' : 'info',
          temp: Math.round(temp * 100) / 100,
          latencyMs: 20 + ((i * 31) % 50),
          msg: 'telemetry',
        }),
      )
    }
    bodies.push(lines.join('\n'))
  }
  return bodies
}

function jsonParseRate(bodies: string[]): number {
  const rates: number[] = []
  for (let run = 0; run < 7; run++) {
    const t0 = performance.now()
    let n = 0
    for (const body of bodies) {
      let start = 0
      while (start < body.length) {
        let end = body.indexOf('\n', start)
        if (end < 0) end = body.length
        JSON.parse(body.slice(start, end))
        n++
        start = end + 1
      }
    }
    rates.push(n / ((performance.now() - t0) / 1000))
  }
  return median(rates.slice(2))
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

const bodies = makeBodies()
let summary: Record<string, unknown> = {}
const dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-bench-'))
const server = await startServer({
  EDGEWATCH_DATA_DIR: dataDir,
  EDGEWATCH_INGEST_TOKEN: 'bench-ingest-token-0001',
  EDGEWATCH_ADMIN_TOKEN: 'bench-admin-token-00001',
  EDGEWATCH_SYNC: SYNC,
})
try {
  const { port } = new URL(server.url)
  console.log(`loading ${server.url} for ${DURATION_S} s on ${CONNECTIONS} connections (sync=${SYNC})`)
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: DURATION_S,
    requests: bodies.map((body) => ({
      method: 'POST',
      path: '/v1/ingest',
      headers: { authorization: 'Bearer bench-ingest-token-0001', 'content-type': 'application/x-ndjson' },
      body,
    })),
  })
  const ok = result['2xx']
  const stored = (await (
    await fetch(`${server.url}/v1/devices?limit=1000`, {
      headers: { authorization: 'Bearer bench-admin-token-00001' },
    })
  ).json()) as { items: { recordCount: number }[] }
  const storedRecords = stored.items.reduce((n, d) => n + d.recordCount, 0)
  const rss = peakRssMb(server.child.pid!)
  const parseRate = jsonParseRate(bodies)
  const recordsPerS = (ok * BATCH) / DURATION_S
  console.log(
    `${ok} batches acknowledged, ${storedRecords} records stored; non-2xx ${result.non2xx}, errors ${result.errors}`,
  )
  console.log(
    `records/s ${Math.round(recordsPerS)}  p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms  peak RSS ${rss.toFixed(0)} MB`,
  )
  summary = {
    benchmark: 'ingest',
    sync: SYNC,
    duration_s: DURATION_S,
    connections: CONNECTIONS,
    batch_records: BATCH,
    records_per_s: Math.round(recordsPerS),
    requests_per_s: Math.round(ok / DURATION_S),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    peak_rss_mb: Math.round(rss),
    json_parse_records_per_s: Math.round(parseRate),
    ingest_over_json_parse: Number((recordsPerS / parseRate).toFixed(3)),
    acknowledged_records: ok * BATCH,
    stored_records: storedRecords,
    non_2xx: result.non2xx,
    errors: result.errors,
  }
} finally {
  await server.stop('SIGTERM')
  rmSync(dataDir, { recursive: true, force: true })
}
report({ ...summary, ...(await compareWithBaseline()), ...(await compareWithInflux()) })

/** This build against BENCH_BASELINE's, alternating, each on a fresh server and data directory. */
async function compareWithBaseline(): Promise<Record<string, unknown>> {
  const baseline = process.env.BENCH_BASELINE
  if (!baseline) return {}
  const seconds = Number(process.env.BENCH_COMPARE_S ?? 10)
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
  const runs: Record<'baseline' | 'current', { recordsPerS: number; p99: number; rssMb: number }[]> = {
    baseline: [],
    current: [],
  }
  for (let round = 1; round <= rounds; round++) {
    for (const build of ['baseline', 'current'] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'edgewatch-bench-ab-'))
      const env = {
        EDGEWATCH_DATA_DIR: dir,
        EDGEWATCH_INGEST_TOKEN: 'bench-ingest-token-0001',
        EDGEWATCH_ADMIN_TOKEN: 'bench-admin-token-00001',
        EDGEWATCH_SYNC: SYNC,
      }
      const server = build === 'baseline' ? await startServer(env, baseline) : await startServer(env)
      try {
        const headers = {
          authorization: 'Bearer bench-ingest-token-0001',
          'content-type': 'application/x-ndjson',
        }
        const r = await load(server.url, '/v1/ingest', headers, bodies, seconds)
        runs[build].push({
          recordsPerS: r.recordsPerS,
          p99: r.p99,
          rssMb: Math.round(peakRssMb(server.child.pid!)),
        })
        console.log(`round ${round}: ${build} ${Math.round(r.recordsPerS)} records/s, p99 ${r.p99} ms`)
      } finally {
        await server.stop('SIGTERM')
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
  const of = (build: 'baseline' | 'current', key: 'recordsPerS' | 'p99' | 'rssMb') =>
    median(runs[build].map((r) => r[key]))
  return {
    baseline: baseline,
    baseline_records_per_s: Math.round(of('baseline', 'recordsPerS')),
    current_records_per_s: Math.round(of('current', 'recordsPerS')),
    speedup: Number((of('current', 'recordsPerS') / of('baseline', 'recordsPerS')).toFixed(3)),
    speedup_by_round: runs.current.map((c, k) =>
      Number((c.recordsPerS / runs.baseline[k]!.recordsPerS).toFixed(3)),
    ),
    baseline_p99_ms: of('baseline', 'p99'),
    current_p99_ms: of('current', 'p99'),
    baseline_peak_rss_mb: of('baseline', 'rssMb'),
    current_peak_rss_mb: of('current', 'rssMb'),
  }
}

async function compareWithInflux(): Promise<Record<string, unknown>> {
  if (process.env.BENCH_INFLUX === '0') return {}
  if (!influxdInstalled()) {
    console.log(
      '!!! influxd is not installed (apt-get install influxdb): the side-by-side comparison is SKIPPED !!!',
    )
    return { influxdb_records_per_s: null, ratio: null }
  }
  const seconds = Number(process.env.BENCH_COMPARE_S ?? 10)
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
  const batches = comparisonRecords()
  const ndjson = batches.map((b) => b.map((r) => JSON.stringify(r)).join('\n'))
  const lines = batches.map((b) => b.map(lineOf).join('\n'))
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-bench-compare-'))
  const edge = await startServer({
    EDGEWATCH_DATA_DIR: dir,
    EDGEWATCH_INGEST_TOKEN: 'bench-ingest-token-0001',
    EDGEWATCH_ADMIN_TOKEN: 'bench-admin-token-00001',
    EDGEWATCH_SYNC: SYNC,
  })
  const influx = await startInflux()
  try {
    const edgeRuns: number[] = []
    const influxRuns: number[] = []
    let edgeAcked = 0
    for (let round = 1; round <= rounds; round++) {
      const i = await load(influx.url, influx.writePath, { 'content-type': 'text/plain' }, lines, seconds)
      const e = await load(
        edge.url,
        '/v1/ingest',
        { authorization: 'Bearer bench-ingest-token-0001', 'content-type': 'application/x-ndjson' },
        ndjson,
        seconds,
      )
      edgeAcked += e.ok * BATCH
      influxRuns.push(i.recordsPerS)
      edgeRuns.push(e.recordsPerS)
      console.log(
        `round ${round}: influxdb ${Math.round(i.recordsPerS)} records/s (p99 ${i.p99} ms, non-2xx ${i.non2xx}), ` +
          `edgewatch ${Math.round(e.recordsPerS)} records/s (p99 ${e.p99} ms, non-2xx ${e.non2xx}); ratio ${(e.recordsPerS / i.recordsPerS).toFixed(2)}`,
      )
    }
    const stored = (await (
      await fetch(`${edge.url}/v1/devices?limit=1000`, {
        headers: { authorization: 'Bearer bench-admin-token-00001' },
      })
    ).json()) as { items: { recordCount: number }[] }
    const influxMedian = median(influxRuns)
    const edgeMedian = median(edgeRuns)
    return {
      compare_seconds: seconds,
      compare_rounds: rounds,
      influxdb_records_per_s: Math.round(influxMedian),
      edgewatch_compare_records_per_s: Math.round(edgeMedian),
      ratio: Number((edgeMedian / influxMedian).toFixed(3)),
      ratio_by_round: edgeRuns.map((e, k) => Number((e / influxRuns[k]!).toFixed(3))),
      edgewatch_compare_acknowledged: edgeAcked,
      edgewatch_compare_stored: stored.items.reduce((n, d) => n + d.recordCount, 0),
    }
  } finally {
    await influx.stop()
    await edge.stop('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
}
