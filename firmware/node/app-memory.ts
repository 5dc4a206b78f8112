// What apps cost an agent's process: `devices` app managers (one per simulated device, as each agent
// owns one) on one pooled worker host, each running `apps` releases that tick every second on a
// simulated pump's readings, for `seconds`. Prints progress, then one JSON line: process RSS and
// main-thread heap before and with the apps, per app and per device, and how long a round of ticks
// took. Wasm memories and the workers' heaps live outside the main thread's heap, so RSS is the figure.
//
//   npx tsx --expose-gc firmware/node/app-memory.ts [devices=1000] [apps=10] [seconds=20] [workers=CPUs]
//
// The apps: AssemblyScript's well-behaved and report-on-change (firmware/apps/build/, when built), and
// small hand-assembled ones doing a fixed amount of work per tick, each a distinct module.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sha256Hex } from '../agent/apps/download.js'
import { createAppManager } from '../agent/apps/manager.js'
import { memoryAppStore } from '../agent/apps/memory-store.js'
import type { AppRelease } from '../agent/apps/release.js'
import { wellBehaved, work } from '../agent/apps/testing/wasm.js'
import { systemClock } from '../agent/clock.js'
import { createPump } from '../sensors/index.js'
import { createWorkerAppHost, defaultPoolSize } from './app-host.js'

const [devices = 1000, appsPerDevice = 10, seconds = 20] = process.argv.slice(2, 5).map(Number)
const workers = Number(process.argv[5] ?? defaultPoolSize())
const gc = (globalThis as { gc?: () => void }).gc
const MB = 1024 * 1024

async function settle() {
  for (let i = 0; i < 3; i++) {
    gc?.()
    await new Promise((r) => setTimeout(r, 100))
  }
  const m = process.memoryUsage()
  return { rss: m.rss, heap: m.heapUsed, external: m.external }
}

function modules(n: number): Array<[string, Uint8Array]> {
  const dir = join(import.meta.dirname, '..', 'apps', 'build')
  const out: Array<[string, Uint8Array]> = []
  for (const name of ['well-behaved', 'report-on-change']) {
    const path = join(dir, `${name}.wasm`)
    if (existsSync(path)) out.push([name, new Uint8Array(readFileSync(path))])
  }
  if (out.length === 0) out.push(['counter', wellBehaved()])
  for (let i = 1; out.length < n; i++) out.push([`work-${i}`, work(20 * i)])
  return out.slice(0, n)
}

const store = memoryAppStore()
const releases: AppRelease[] = []
for (const [name, bytes] of modules(appsPerDevice)) {
  const sha256 = await sha256Hex(bytes)
  await store.put(sha256, bytes)
  releases.push({
    appId: `app-${name}`,
    name,
    version: '1',
    sha256,
    size: bytes.length,
    deploymentId: 'dep-1',
    limits: { memoryPages: 4, fuel: 1_000_000, tickMs: 1000, wallMs: 1000, maxRestarts: 3 },
    telemetry: 'add',
  })
}

const before = await settle()
const host = createWorkerAppHost({ workers })
const pumps = Array.from({ length: devices }, (_, i) => createPump({ seed: i + 1 }))
const channels = pumps[0]!.channels()
const managers = pumps.map(() =>
  createAppManager({
    host,
    clock: systemClock,
    store,
    download: async () => ({ kind: 'failed', reason: 'everything is in the store' }),
    channels,
    emit: () => {},
  }),
)
const t0 = performance.now()
for (const m of managers) m.desire(releases)
const total = devices * appsPerDevice
const running = () => managers.reduce((n, m) => n + m.report().filter((r) => r.state === 'running').length, 0)
while (running() < total) {
  if (managers.some((m) => m.report().some((r) => r.state === 'failed')))
    throw new Error('an app failed to start')
  await new Promise((r) => setTimeout(r, 100))
}
const startSeconds = (performance.now() - t0) / 1000
process.stderr.write(`${total} apps running on ${workers} workers after ${startSeconds.toFixed(1)} s\n`)

// Once a second, as a sampler would: a reading for every device, and their records taken.
let records = 0
const reader = setInterval(() => {
  const now = Date.now()
  for (let i = 0; i < devices; i++) managers[i]!.reading(pumps[i]!.read(now))
  for (const m of managers) records += m.takeRecords().length
}, 1000)
const ticksAt = () => managers.reduce((n, m) => n + m.report().reduce((k, r) => k + r.ticks, 0), 0)
const ticks0 = ticksAt()
const runStart = performance.now()
let peakRss = 0
for (let s = 0; s < seconds; s++) {
  await new Promise((r) => setTimeout(r, 1000))
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
  process.stderr.write(`${s + 1}/${seconds} s: ${Math.round(process.memoryUsage().rss / MB)} MB RSS\n`)
}
const ticks = ticksAt() - ticks0
const runSeconds = (performance.now() - runStart) / 1000
const cpu = process.cpuUsage()
const withApps = await settle()
clearInterval(reader)
const reports = managers.flatMap((m) => m.report())
const fuel = reports.map((r) => r.fuelPerTick ?? 0)
await Promise.all(managers.map((m) => m.stop()))
const counts = host.counts()
await host.close()
const after = await settle()

const per = (bytes: number, n: number) => Math.round((bytes / n / 1024) * 10) / 10
process.stdout.write(
  `${JSON.stringify({
    devices,
    appsPerDevice,
    apps: total,
    workers,
    startSeconds: Math.round(startSeconds * 10) / 10,
    ticksPerSecond: Math.round(ticks / runSeconds),
    expectedTicksPerSecond: total,
    recordsPerSecond: Math.round(records / runSeconds),
    wallTimeouts: counts.wallTimeouts,
    hostRestarts: counts.hostRestarts,
    fuelPerTickMax: Math.max(...fuel),
    rssBeforeMB: Math.round(before.rss / MB),
    rssWithAppsMB: Math.round(withApps.rss / MB),
    rssPeakMB: Math.round(peakRss / MB),
    rssAfterStopMB: Math.round(after.rss / MB),
    rssPerAppKB: per(withApps.rss - before.rss, total),
    rssPerDeviceKB: per(withApps.rss - before.rss, devices),
    heapPerAppKB: per(withApps.heap - before.heap, total),
    heapPerDeviceKB: per(withApps.heap - before.heap, devices),
    cpuSecondsPerSecond: Math.round(((cpu.user + cpu.system) / 1e6 / (performance.now() / 1000)) * 100) / 100,
  })}\n`,
)
