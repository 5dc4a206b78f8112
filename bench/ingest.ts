// Ingest benchmark: records/s end to end through HTTP into SQLite with analysis. The server is the
// real `edgewatch serve` in its own process; autocannon loads it from this process with 1,000-record
// NDJSON batches on 10 connections. Also measures the bare JSON.parse rate of the same bytes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { startServer } from '../test/server-process.js'
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
  report({
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
  })
} finally {
  await server.stop('SIGTERM')
  rmSync(dataDir, { recursive: true, force: true })
}
