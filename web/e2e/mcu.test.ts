// The simulated-MCU page end to end in real Chromium, against the real `edgewatch serve` (heartbeats
// every second, unreachable after 3 s): 20 MCUs started from the page's URL connect; apps deployed to
// their label, one from the fleet console, run on them (and a runaway one fails with its reason); a fault injected from the page
// yields the server's anomaly; cutting an MCU's network loses nothing; a reboot keeps its identity and
// outbox; powering one off makes it unreachable; a reload brings back the same devices. Saves a screenshot
// to test-results/screenshots/ (and docs/screenshots/ with UPDATE_SCREENSHOTS=1).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { McuSummary, McuView } from '../../firmware/browser/mcu-shard.js'
import { projectRoot } from '../../kernels/node.js'
import { type ServerProcess, startServer } from '../../test/server-process.js'
import { chromiumAvailable, launchChromium } from './browser.js'

const ADMIN = 'm'.repeat(32)
const DEVICES = 20
const LABEL = 'mcu=e2e'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const run = chromiumAvailable()
let dir: string
let server: ServerProcess
let browser: Browser
let page: Page
let token: string

interface Api {
  counts(): Promise<Record<string, number>>
  mcu(i: number): Promise<McuView | null>
  list(): Promise<McuSummary[]>
  control(i: number, action: string): Promise<void>
  fault(i: number, f: { kind: string; channel?: string; durationMs?: number }): Promise<string>
}
/** Calls the page's test API. */
const mcuApi = <T>(f: (api: Api, arg: unknown) => Promise<T>, arg?: unknown): Promise<T> =>
  page.evaluate(
    async ({ source, arg }) => {
      const api = (window as unknown as { edgewatchMcu: Api }).edgewatchMcu
      return new Function('api', 'arg', `return (${source})(api, arg)`)(api, arg)
    },
    { source: String(f), arg },
  ) as Promise<T>

async function admin<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    ...init,
    headers: {
      Authorization: `Bearer ${ADMIN}`,
      'Content-Type': 'application/json',
      ...(init.headers as object),
    },
  })
  const body = (await res.json()) as T
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`)
  return body
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await get()
    if (ok(v)) return v
    if (Date.now() > deadline)
      throw new Error(`${what}: still ${JSON.stringify(v).slice(0, 600)} after ${ms} ms`)
    await sleep(250)
  }
}

const connectedIds = async () =>
  (
    await admin<{ items: { deviceId: string }[] }>(
      `/v1/devices?status=connected&label=${encodeURIComponent(LABEL)}&limit=100`,
    )
  ).items.map((d) => d.deviceId)

async function pushApp(file: string, query: string): Promise<string> {
  const res = await fetch(`${server.url}/v1/apps?${query}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/wasm' },
    body: readFileSync(join(projectRoot(), 'firmware', 'apps', 'build', `${file}.wasm`)),
  })
  const body = (await res.json()) as { id: string }
  if (res.status !== 201) throw new Error(`push ${file}: ${res.status} ${JSON.stringify(body)}`)
  return body.id
}

const deploy = async (app: string, rollout: object = {}) =>
  (
    await admin<{ id: string }>('/v1/deployments', {
      method: 'POST',
      body: JSON.stringify({ app, target: { labels: { mcu: 'e2e' } }, rollout }),
    })
  ).id

beforeAll(async () => {
  if (!run) return
  dir = mkdtempSync(join(tmpdir(), 'edgewatch-mcu-'))
  server = await startServer({
    EDGEWATCH_DATA_DIR: join(dir, 'data'),
    EDGEWATCH_ADMIN_TOKEN: ADMIN,
    EDGEWATCH_HEARTBEAT_INTERVAL: '1s',
    EDGEWATCH_HEARTBEAT_TIMEOUT: '3s',
  })
  token = (
    await admin<{ token: string }>('/v1/fleet/enrolment-tokens', {
      method: 'POST',
      body: JSON.stringify({ maxUses: 100, labels: { mcu: 'e2e' } }),
    })
  ).token
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1400, height: 1100 } })
  page.on('pageerror', (e) => console.error('page error:', e.message))
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe.runIf(run)('simulated MCUs in Chromium', () => {
  const url = () => `${server.url}/app/mcu/?enrol=${token}&devices=${DEVICES}&batch=1000&page=8`
  let ids: (string | null)[] = []
  let startedAt = 0

  it('starts 20 MCUs from the page URL, and the server sees all of them connected', async () => {
    await page.goto(url())
    startedAt = Date.now()
    const connected = await until(
      '20 connected on the server',
      connectedIds,
      (d) => d.length === DEVICES,
      45_000,
    )
    const list = await mcuApi((api) => api.list())
    ids = list.map((m) => m.deviceId)
    expect(list).toHaveLength(DEVICES)
    expect(new Set(ids)).toEqual(new Set(connected))
    const counts = await mcuApi((api) => api.counts())
    expect(counts).toMatchObject({ started: DEVICES, enrolled: DEVICES })
  }, 60_000)

  it('runs apps deployed to their label (one from the fleet console): edge-detect and well-behaved run on every MCU', async () => {
    const edge = await pushApp(
      'edge-detect',
      'name=edge-detect&version=1.0.0&memoryPages=28&fuel=5000000&tickMs=1000&wallMs=1000',
    )
    const deployments = [await deploy(edge)]
    // The counter is uploaded and deployed to the MCUs' label from the console, in another tab.
    const consolePage = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    await consolePage.goto(`${server.url}/app/console/#/apps`)
    await consolePage.fill('#token', ADMIN)
    await consolePage.click('#signin button[type=submit]')
    await consolePage.waitForSelector('#upload-form')
    await consolePage.setInputFiles(
      '#app-file',
      join(projectRoot(), 'firmware', 'apps', 'build', 'well-behaved.wasm'),
    )
    await consolePage.fill('#app-name', 'counter')
    await consolePage.fill('#app-version', '1.0.0')
    await consolePage.fill('#app-fuel', '100000')
    await consolePage.fill('#app-wallMs', '500')
    await consolePage.click('#upload-form button[type=submit]')
    await consolePage.waitForFunction(() =>
      document.querySelector('#upload-status')?.textContent?.startsWith('Uploaded counter@1.0.0'),
    )
    await consolePage.fill('#deploy-target', 'mcu=e2e')
    await consolePage.click('#deploy-form button[type=submit]')
    await consolePage.waitForFunction(() => location.hash.startsWith('#/deployments/dep'))
    deployments.push(decodeURIComponent(new URL(consolePage.url()).hash.slice('#/deployments/'.length)))
    await consolePage.waitForFunction(
      () => document.querySelector<HTMLElement>('#view')?.dataset.state === 'succeeded',
      undefined,
      { timeout: 45_000 },
    )
    await consolePage.close()
    await until(
      'both apps running on every MCU',
      () => mcuApi((api) => api.list()),
      (list) => list.every((m) => m.apps.filter((a) => a.state === 'running').length === 2),
      45_000,
    )
    for (const id of deployments) {
      const view = await until(
        'the deployment done',
        () => admin<{ counts: Record<string, number> }>(`/v1/deployments/${id}`),
        (v) => v.counts.running === DEVICES,
      )
      expect(view.counts.failed ?? 0).toBe(0)
    }
    // The page shows them, with their meters.
    await page.waitForSelector('.mcu .app[data-app="edge-detect"][data-state="running"] meter.fuel')
  }, 90_000)

  it('cutting an MCU’s network and restoring it loses no reading', async () => {
    const i = 2
    await mcuApi((api, n) => api.control(n as number, 'cut'), i)
    await sleep(5000)
    const cut = (await mcuApi((api, n) => api.mcu(n as number), i))!
    expect(cut.outbox).toBeGreaterThan(2)
    expect(cut.network).toBe(false)
    await mcuApi((api, n) => api.control(n as number, 'restore'), i)
    // Every record the MCU sealed (readings and app records) is stored by the server, once: compared
    // when nothing was sealed between the two looks at the MCU.
    await until(
      'the server holds every record the MCU produced',
      async () => {
        const before = (await mcuApi((api, n) => api.mcu(n as number), i))!
        const stored = (await admin<{ recordCount: number }>(`/v1/devices/${ids[i]}`)).recordCount
        const after = (await mcuApi((api, n) => api.mcu(n as number), i))!
        return {
          before: before.readings,
          outbox: before.outbox,
          stored,
          after: after.readings,
          dropped: after.dropped,
        }
      },
      (v) => v.before === v.after && v.outbox === 0 && v.stored === v.before,
      30_000,
    )
    const after = (await mcuApi((api, n) => api.mcu(n as number), i))!
    expect(after.dropped).toBe(0)
    expect(after.retries).toBeGreaterThan(0)
  }, 60_000)

  it('a reboot starts again from IndexedDB: the same identity, the same outbox', async () => {
    const i = 4
    await mcuApi((api, n) => api.control(n as number, 'cut'), i)
    await until(
      'a few batches kept',
      () => mcuApi((api, n) => api.mcu(n as number), i),
      (v) => (v?.outbox ?? 0) >= 2,
      15_000,
    )
    const before = (await mcuApi((api, n) => api.mcu(n as number), i))!
    await mcuApi((api, n) => api.control(n as number, 'reboot'), i)
    const after = (await mcuApi((api, n) => api.mcu(n as number), i))!
    expect(after.deviceId).toBe(before.deviceId)
    // Stopping seals the last partial batch: the outbox only grows while the network is cut.
    expect(after.outbox).toBeGreaterThanOrEqual(before.outbox)
    expect(after.power).toBe('on')
    await mcuApi((api, n) => api.control(n as number, 'restore'), i)
    await until(
      'drained after the reboot',
      () => mcuApi((api, n) => api.mcu(n as number), i),
      (v) => v?.outbox === 0 && v.status === 'connected',
      20_000,
    )
  }, 45_000)

  it('powering an MCU off turns it unreachable on the server', async () => {
    const i = 3
    await mcuApi((api, n) => api.control(n as number, 'power-off'), i)
    await until(
      'unreachable',
      () => admin<{ status: string }>(`/v1/devices/${ids[i]}`),
      (d) => d.status === 'unreachable',
      20_000,
    )
    expect((await mcuApi((api, n) => api.mcu(n as number), i))!.status).toBe('off')
  }, 30_000)

  it('a fault injected from the page yields an anomaly on the server, in the console’s live feed, and beside the device’s own verdicts', async () => {
    const i = 1
    const deviceId = ids[i]!
    // The fleet console, open in another tab before the fault: its live feed must show the anomaly.
    const consolePage = await browser.newPage({ viewport: { width: 1280, height: 800 } })
    await consolePage.goto(`${server.url}/`)
    await consolePage.fill('#token', ADMIN)
    await consolePage.click('#signin button[type=submit]')
    await consolePage.waitForSelector('#feed-list', { state: 'attached' })
    // A healthy baseline first (the detectors warm up on 20 to 30 samples), then large spikes on one channel.
    const sinceStart = Date.now() - startedAt
    if (sinceStart < 35_000) await sleep(35_000 - sinceStart)
    let anomalies: unknown[] = []
    for (let attempt = 0; attempt < 8 && anomalies.length === 0; attempt++) {
      await mcuApi((api, n) => api.fault(n as number, { kind: 'spike', channel: 'flow' }), i)
      await sleep(2500)
      anomalies = (await admin<{ items: unknown[] }>(`/v1/anomalies?deviceId=${deviceId}`)).items
    }
    expect(anomalies.length).toBeGreaterThan(0)
    await consolePage.waitForSelector(`#feed-list li[data-device="${deviceId}"]`, {
      state: 'attached',
      timeout: 20_000,
    })
    await consolePage.close()
    const view = await until(
      'the page has the server’s verdict',
      () => mcuApi((api, n) => api.mcu(n as number), i),
      (v) => (v?.serverAnomalies ?? 0) > 0,
    )
    expect(view!.faults.some((f) => f.startsWith('spike(flow)'))).toBe(true)
    // edge-detect runs the same kernels on the device: it flags the spikes too.
    expect(view!.edgeAnomalies).toBeGreaterThan(0)
  }, 90_000)

  it('an endless loop shows failed with its reason, on the page and in the deployment', async () => {
    const loop = await pushApp(
      'endless-loop',
      'name=endless-loop&version=1.0.0&fuel=250000&tickMs=1000&wallMs=500&maxRestarts=0',
    )
    const id = await deploy(loop, { maxFailures: 1 })
    const list = await until(
      'failed on the page',
      () => mcuApi((api) => api.list()),
      (l) => l.some((m) => m.apps.some((a) => a.name === 'endless-loop' && a.state === 'failed')),
      45_000,
    )
    const failed = list.flatMap((m) => m.apps).find((a) => a.name === 'endless-loop' && a.state === 'failed')!
    expect(failed.reason).toMatch(/fuel_exhausted|wall_timeout/)
    await page.waitForSelector('.mcu .app[data-app="endless-loop"][data-state="failed"] .reason')
    const view = await until(
      'failed in the deployment',
      () =>
        admin<{ devices: { items: { state: string; reason: string | null }[] } }>(`/v1/deployments/${id}`),
      (v) => v.devices.items.some((d) => d.state === 'failed'),
    )
    const device = view.devices.items.find((d) => d.state === 'failed')!
    expect(device.reason).toMatch(/fuel_exhausted|wall_timeout/)

    // Into test-results/ on every run; into the README's docs/screenshots/ with UPDATE_SCREENSHOTS=1.
    const shots = join(projectRoot(), 'test-results', 'screenshots')
    mkdirSync(shots, { recursive: true })
    await page.screenshot({ path: join(shots, 'mcu.png') })
    if (process.env.UPDATE_SCREENSHOTS)
      copyFileSync(join(shots, 'mcu.png'), join(projectRoot(), 'docs', 'screenshots', 'mcu.png'))
  }, 60_000)

  it('a reload brings back the same devices', async () => {
    await page.reload()
    const list = await until(
      'every MCU back',
      () => mcuApi((api) => api.list()),
      (l) => l.length === DEVICES && l.every((m) => m.deviceId !== null),
      30_000,
    )
    expect(list.map((m) => m.deviceId)).toEqual(ids)
    await until('all connected again', connectedIds, (d) => d.length === DEVICES, 30_000)
  }, 45_000)
})
