// The fleet benchmark's ingest phase: one `edgewatch serve` (the real server, its own process) and
// one `edgewatch simulate` (its own process) with DEVICES simulated devices behind gateways, one
// reading per second each, heartbeats spread over the interval, for DURATION after the whole fleet
// has enrolled. Targets: every device connected, no record lost, heartbeat p99 < 100 ms, end to end
// p95 < 1 s, server RSS < 300 MB.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer } from '../../test/server-process.js'
import { enrolmentToken, memoryMb, runSimulate } from './processes.js'

export interface IngestSettings {
  devices: number
  duration: string
  gateway: number
  batchMs: number
}

const INGEST = 'bench-fleet-ingest-token'
const ADMIN = 'bench-fleet-admin-token-'

export async function ingestPhase(s: IngestSettings): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-bench-fleet-'))
  const server = await startServer({
    EDGEWATCH_DATA_DIR: dataDir,
    EDGEWATCH_INGEST_TOKEN: INGEST,
    EDGEWATCH_ADMIN_TOKEN: ADMIN,
    EDGEWATCH_SYNC: process.env.EDGEWATCH_SYNC ?? 'full',
  })
  try {
    const token = await enrolmentToken(server.url, ADMIN, s.devices, { bench: 'fleet' })
    const pid = server.child.pid!
    const startMb = memoryMb(pid).rss
    console.log(
      `ingest: server ${server.url} (${startMb.toFixed(0)} MB); simulating ${s.devices} devices, gateways of ${s.gateway}, batches of ${s.batchMs} ms, ${s.duration}`,
    )
    let peakRssMb = startMb
    const sampler = setInterval(() => {
      peakRssMb = Math.max(peakRssMb, memoryMb(pid).rss)
    }, 500)
    const sim = runSimulate(server.url, token, ADMIN, [
      ...['--devices', String(s.devices), '--rate', '1', '--duration', s.duration],
      ...['--gateway', String(s.gateway), '--batch-ms', String(s.batchMs), '--wave', '500'],
    ])
    const { code, result: r } = await sim.done
    clearInterval(sampler)
    peakRssMb = Math.max(peakRssMb, memoryMb(pid).hwm)
    const targets = {
      allConnected: r.serverConnected === s.devices,
      noRecordLost: r.recordsLost === 0 && r.recordsStored === r.recordsAcked,
      heartbeatP99Under100Ms: ((r.heartbeatP99Ms as number | null) ?? Number.POSITIVE_INFINITY) < 100,
      e2eP95Under1s: ((r.e2eP95Ms as number | null) ?? Number.POSITIVE_INFINITY) < 1000,
      serverRssUnder300Mb: peakRssMb < 300,
    }
    console.log(`ingest: simulate exited ${code}; targets: ${JSON.stringify(targets)}`)
    return {
      devices: s.devices,
      gateway: s.gateway,
      batch_ms: s.batchMs,
      ...r,
      server_start_rss_mb: Math.round(startMb),
      server_peak_rss_mb: Math.round(peakRssMb),
      targets,
    }
  } finally {
    await server.stop('SIGTERM')
    rmSync(dataDir, { recursive: true, force: true })
  }
}
