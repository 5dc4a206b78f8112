// Fleet benchmark, in phases, each against its own real `edgewatch serve` and `edgewatch simulate`
// processes (bench/fleet/):
// - ingest: 10,000 devices behind gateways, one reading per second each, for 60 s after the whole fleet
//   has enrolled. Targets: every device connected, no record lost, heartbeat p99 < 100 ms, end to end
//   p95 < 1 s, server RSS < 300 MB.
// - deploy: 1,000 devices, heartbeat interval 2 s; an app deployed to their label reaches `running` on
//   every one with p95 < 10 s from the deployment's creation; then 10 apps per device in the one
//   simulator process, and the agent's memory per app and per device.
// Ends with one JSON line. Settings: BENCH_PHASES (ingest,deploy), BENCH_DEVICES (10,000),
// BENCH_DURATION (60s), BENCH_GATEWAY (devices per gateway, 100), BENCH_BATCH_MS (how long a device
// collects readings before it sends them, 5000), BENCH_DEPLOY_DEVICES (1,000), BENCH_APPS (10),
// EDGEWATCH_SYNC.
import { deployPhase } from './fleet/deploy.js'
import { ingestPhase } from './fleet/ingest.js'
import { report } from './stats.js'

const phases = (process.env.BENCH_PHASES ?? 'ingest,deploy').split(',').map((p) => p.trim())
const unknown = phases.filter((p) => p !== 'ingest' && p !== 'deploy')
if (unknown.length) throw new Error(`BENCH_PHASES: unknown phase ${unknown.join(', ')} (ingest, deploy)`)
const gateway = Number(process.env.BENCH_GATEWAY ?? 100)

const result: Record<string, unknown> = { benchmark: 'fleet' }
if (phases.includes('ingest')) {
  result.ingest = await ingestPhase({
    devices: Number(process.env.BENCH_DEVICES ?? 10_000),
    duration: process.env.BENCH_DURATION ?? '60s',
    gateway,
    batchMs: Number(process.env.BENCH_BATCH_MS ?? 5000),
  })
}
if (phases.includes('deploy')) {
  result.deploy = await deployPhase({
    devices: Number(process.env.BENCH_DEPLOY_DEVICES ?? 1000),
    gateway,
    apps: Number(process.env.BENCH_APPS ?? 10),
  })
}
report(result)
