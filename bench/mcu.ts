// The simulated-MCU page at scale: 1,000 virtual MCUs (the real device agent, in the page's shard
// workers) in one Chromium tab, one reading per second each, against the real `edgewatch serve`.
// Once the server has every one connected, it runs BENCH_DURATION (60 s) and measures:
// - readings acked per second (the MCUs' own count of records the server acked, over the window);
// - the longest main-thread task (a PerformanceObserver for 'longtask' in the page), in the window and
//   over the whole run including start-up;
// - the tab's memory: the resident memory (VmRSS) of the renderer process that holds the page and its
//   workers (every MCU, the IndexedDB connection is in the browser process), with MCUs minus before
//   any was started, divided by the MCUs: memory per MCU. Also the main thread's JS heap (CDP
//   Performance.getMetrics), which does not count the workers;
// - MCUs connected per the server (GET /v1/devices?status=connected).
// Ends with one JSON line. Settings: BENCH_MCUS (1,000), BENCH_DURATION (60 s), BENCH_BATCH_MS (5,000:
// how long an MCU collects readings before it seals a batch), BENCH_SHARDS (the page's default).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer } from '../test/server-process.js'
import { CHROMIUM, launchChromium } from '../web/e2e/browser.js'
import { enrolmentToken } from './fleet/processes.js'
import { report } from './stats.js'

const MCUS = Number(process.env.BENCH_MCUS ?? 1000)
const DURATION_S = Number.parseFloat(process.env.BENCH_DURATION ?? '60')
const BATCH_MS = Number(process.env.BENCH_BATCH_MS ?? 5000)
const SHARDS = process.env.BENCH_SHARDS
const ADMIN = 'bench-mcu-admin-token-0123456789'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const log = (s: string) => console.log(`mcu: ${s}`)

/** The renderer processes under this process (the browser playwright started), with their resident memory in MB. */
function renderers(ancestor: number): { pid: number; rssMb: number }[] {
  const parent = new Map<number, number>()
  const out: { pid: number; rssMb: number }[] = []
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {}
  }
  const descends = (pid: number) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === ancestor) return true
    return false
  }
  for (const pid of parent.keys()) {
    try {
      if (!descends(pid)) continue
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      out.push({ pid, rssMb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024 })
    } catch {}
  }
  return out
}

const dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-bench-mcu-'))
const server = await startServer({
  EDGEWATCH_DATA_DIR: dataDir,
  EDGEWATCH_ADMIN_TOKEN: ADMIN,
  EDGEWATCH_SYNC: process.env.EDGEWATCH_SYNC ?? 'full',
})
const admin = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${server.url}${path}`, { headers: { Authorization: `Bearer ${ADMIN}` } })
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}
const connectedOnServer = async () => {
  let n = 0
  let cursor: string | null = null
  do {
    const page: { items: unknown[]; next: string | null } = await admin(
      `/v1/devices?status=connected&label=bench%3Dmcu&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    )
    n += page.items.length
    cursor = page.next
  } while (cursor)
  return n
}

const browser = await launchChromium()
try {
  const token = await enrolmentToken(server.url, ADMIN, MCUS, { bench: 'mcu' })
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
  const page = await context.newPage()
  page.on('pageerror', (e) => log(`page error: ${e.message}`))
  const cdp = await context.newCDPSession(page)
  await cdp.send('Performance.enable')
  const query = `batch=${BATCH_MS}${SHARDS ? `&shards=${SHARDS}` : ''}`
  await page.goto(`${server.url}/app/mcu/?${query}`)
  await page.waitForFunction(() => 'edgewatchMcu' in window)
  await sleep(2000)
  // The page's renderer: the largest (a spare one may wait beside it).
  const rendererOf = () => {
    const list = renderers(process.pid)
    return list.reduce((a, b) => (b.rssMb > a.rssMb ? b : a), { pid: 0, rssMb: 0 })
  }
  const before = rendererOf()
  log(
    `server ${server.url}; chromium ${CHROMIUM}; page renderer ${before.rssMb.toFixed(0)} MB before any MCU`,
  )

  type Counts = Record<string, number>
  const counts = () =>
    page.evaluate(() =>
      (window as unknown as { edgewatchMcu: { counts(): Promise<Counts> } }).edgewatchMcu.counts(),
    )
  const t0 = performance.now()
  await page.evaluate(
    ({ token, devices }) =>
      (window as unknown as { edgewatchMcu: { start(r: object): Promise<unknown> } }).edgewatchMcu.start({
        enrolmentToken: token,
        devices,
      }),
    { token, devices: MCUS },
  )
  log(
    `${MCUS} MCUs added in ${((performance.now() - t0) / 1000).toFixed(1)} s; waiting for the server to see them connected`,
  )
  let connected = 0
  for (let i = 0; connected < MCUS; i++) {
    if (performance.now() - t0 > 10 * 60_000)
      throw new Error(`only ${connected} of ${MCUS} connected after 10 min`)
    await sleep(2000)
    connected = await connectedOnServer()
    if (i % 5 === 0) log(`${connected} connected on the server; page: ${JSON.stringify(await counts())}`)
  }
  const connectSeconds = (performance.now() - t0) / 1000
  log(`all ${MCUS} connected in ${connectSeconds.toFixed(1)} s; running ${DURATION_S} s`)
  const longestAtStart = (await counts()).longestTaskMs ?? 0
  await page.evaluate(() =>
    (window as unknown as { edgewatchMcu: { resetLongTasks(): void } }).edgewatchMcu.resetLongTasks(),
  )
  const start = await counts()
  const w0 = performance.now()
  let peakRss = 0
  let connectedMin = MCUS
  for (let s = 0; s < DURATION_S; s += 10) {
    await sleep(Math.min(10, DURATION_S - s) * 1000)
    peakRss = Math.max(peakRss, rendererOf().rssMb)
    const c = await counts()
    connectedMin = Math.min(connectedMin, c.connected ?? 0)
    log(
      `${Math.round((performance.now() - w0) / 1000)} s: ${c.acked} acked, outbox ${c.outbox}, longest task ${c.longestTaskMs} ms`,
    )
  }
  const end = await counts()
  const windowS = (performance.now() - w0) / 1000
  const serverConnected = await connectedOnServer()
  const renderer = rendererOf()
  const metrics = (await cdp.send('Performance.getMetrics')).metrics
  const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0
  const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d
  report({
    benchmark: 'mcu',
    mcus: MCUS,
    shards: end.shards,
    batchMs: BATCH_MS,
    connectSeconds: round(connectSeconds),
    windowSeconds: round(windowS),
    readingsAckedPerSecond: round(((end.acked ?? 0) - (start.acked ?? 0)) / windowS),
    readingsPerSecond: round(((end.readings ?? 0) - (start.readings ?? 0)) / windowS),
    outboxAtEnd: end.outbox,
    retries: (end.retries ?? 0) - (start.retries ?? 0),
    longestMainThreadTaskMs: round(end.longestTaskMs ?? 0),
    longTasks: end.longTasks,
    // The synchronous part of the page's longest refresh (drawing the cards in view), for comparison.
    longestDrawMs: round(end.longestDrawMs ?? 0),
    longestMainThreadTaskMsWithStartup: round(Math.max(longestAtStart, end.longestTaskMs ?? 0)),
    tabRendererRssMb: round(renderer.rssMb),
    tabRendererPeakRssMb: round(Math.max(peakRss, renderer.rssMb)),
    tabRendererRssBeforeMb: round(before.rssMb),
    memoryPerMcuKb: round(((renderer.rssMb - before.rssMb) * 1024) / MCUS),
    mainThreadJsHeapMb: round(metric('JSHeapUsedSize') / 1024 / 1024),
    connectedOnPageMin: connectedMin,
    connectedOnServer: serverConnected,
    // The machine's load when it ended (the server, Chromium and anything else running share its CPUs).
    cpus: availableParallelism(),
    loadAverage1m: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
  })
} finally {
  await browser.close()
  await server.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
