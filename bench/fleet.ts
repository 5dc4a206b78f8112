// Fleet benchmark: one `edgewatch serve` (the real server, its own process) and one `edgewatch
// simulate` (its own process) with 10,000 simulated devices behind gateways, one reading per
// second each, heartbeats spread over the interval, for 60 s after the whole fleet has enrolled.
// Targets: every device connected, no record lost, heartbeat p99 < 100 ms, end to end p95 < 1 s,
// server RSS < 300 MB. Ends with one JSON line. Settings: BENCH_DEVICES, BENCH_DURATION (60s),
// BENCH_GATEWAY (devices per gateway, 100), BENCH_BATCH_MS (how long a device collects readings
// before it sends them, 5000), EDGEWATCH_SYNC.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { projectRoot } from '../kernels/node.js'
import { startServer } from '../test/server-process.js'
import { report } from './stats.js'

const DEVICES = Number(process.env.BENCH_DEVICES ?? 10_000)
const DURATION = process.env.BENCH_DURATION ?? '60s'
const GATEWAY = Number(process.env.BENCH_GATEWAY ?? 100)
const BATCH_MS = Number(process.env.BENCH_BATCH_MS ?? 5000)
const INGEST = 'bench-fleet-ingest-token'
const ADMIN = 'bench-fleet-admin-token-'

function memoryMb(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
}

const dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-bench-fleet-'))
const server = await startServer({
  EDGEWATCH_DATA_DIR: dataDir,
  EDGEWATCH_INGEST_TOKEN: INGEST,
  EDGEWATCH_ADMIN_TOKEN: ADMIN,
  EDGEWATCH_SYNC: process.env.EDGEWATCH_SYNC ?? 'full',
})
try {
  const made = await fetch(`${server.url}/v1/fleet/enrolment-tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ maxUses: DEVICES, labels: { bench: 'fleet' } }),
  })
  const { token } = (await made.json()) as { token: string }
  const pid = server.child.pid!
  const startMb = memoryMb(pid).rss
  console.log(
    `server ${server.url} (${startMb.toFixed(0)} MB); simulating ${DEVICES} devices, gateways of ${GATEWAY}, batches of ${BATCH_MS} ms, ${DURATION}`,
  )
  const sim = spawn(
    process.execPath,
    [
      join(projectRoot(), 'bin', 'edgewatch.js'),
      'simulate',
      ...['--server', server.url, '--enrol', token, '--devices', String(DEVICES), '--rate', '1'],
      ...['--duration', DURATION, '--gateway', String(GATEWAY), '--batch-ms', String(BATCH_MS)],
      ...['--wave', '500', '--admin-token', ADMIN],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  sim.stdout!.on('data', (d: Buffer) => {
    out += d
  })
  let peakRssMb = startMb
  const sampler = setInterval(() => {
    peakRssMb = Math.max(peakRssMb, memoryMb(pid).rss)
  }, 500)
  // It stops by itself: enrolment gives up after 10 minutes, the drain after 30 s; this is the backstop.
  const backstop = setTimeout(() => sim.kill('SIGKILL'), 30 * 60_000)
  const code = await new Promise<number | null>((resolve) => sim.once('exit', resolve))
  clearTimeout(backstop)
  clearInterval(sampler)
  peakRssMb = Math.max(peakRssMb, memoryMb(pid).hwm)
  const line = out.trim().split('\n').pop() ?? '{}'
  const r = JSON.parse(line) as Record<string, number | null>
  const targets = {
    allConnected: r.serverConnected === DEVICES,
    noRecordLost: r.recordsLost === 0 && r.recordsStored === r.recordsAcked,
    heartbeatP99Under100Ms: (r.heartbeatP99Ms ?? Number.POSITIVE_INFINITY) < 100,
    e2eP95Under1s: (r.e2eP95Ms ?? Number.POSITIVE_INFINITY) < 1000,
    serverRssUnder300Mb: peakRssMb < 300,
  }
  console.log(`simulate exited ${code}; targets: ${JSON.stringify(targets)}`)
  report({
    benchmark: 'fleet',
    devices: DEVICES,
    gateway: GATEWAY,
    batch_ms: BATCH_MS,
    ...r,
    server_start_rss_mb: Math.round(startMb),
    server_peak_rss_mb: Math.round(peakRssMb),
    targets,
  })
} finally {
  await server.stop('SIGTERM')
  rmSync(dataDir, { recursive: true, force: true })
}
