// The fleet console end to end in real Chromium, against the real `edgewatch serve` and a real Node
// device agent: sign in (a wrong token refused), the empty state, the agent connected in the fleet,
// its device view (charts, events), an anomaly pushed into the live feed without a reload, an app
// uploaded and deployed from the console reaching running, an endless loop failing with its reason,
// and thousands of devices in a virtualised list. Screenshots (1280×800) go to
// test-results/screenshots/; with UPDATE_SCREENSHOTS=1 also to docs/screenshots/.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../../firmware/agent/agent.js'
import { appPath } from '../../firmware/apps/build.js'
import { createNodeAgent } from '../../firmware/node/agent.js'
import { createEnvironment } from '../../firmware/sensors/index.js'
import { projectRoot } from '../../kernels/node.js'
import { type ServerProcess, startServer } from '../../test/server-process.js'
import { chromiumAvailable, launchChromium } from './browser.js'

const ADMIN = 'console-e2e-admin-token-0123'
const INGEST = 'console-e2e-ingest-token-0123'
const LABEL = 'console-e2e'
const shots = join(projectRoot(), 'test-results', 'screenshots')
const docs = join(projectRoot(), 'docs', 'screenshots')

const run = chromiumAvailable()
let dir: string
let server: ServerProcess
let browser: Browser
let page: Page
let agent: Agent
let deviceId: string
/** The Last-Event-ID of each GET /v1/stream the console made ('' for none). */
const streamRequests: string[] = []

async function shot(name: string) {
  const path = join(shots, name)
  await page.screenshot({ path })
  if (process.env.UPDATE_SCREENSHOTS) copyFileSync(path, join(docs, name))
}

async function api<T>(path: string, init: RequestInit = {}, token = ADMIN): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      ...(init.headers as object),
    },
  })
  const body = (await res.json()) as T
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`)
  return body
}

beforeAll(async () => {
  if (!run) return
  dir = mkdtempSync(join(tmpdir(), 'edgewatch-console-'))
  mkdirSync(shots, { recursive: true })
  server = await startServer({
    EDGEWATCH_DATA_DIR: join(dir, 'data'),
    EDGEWATCH_ADMIN_TOKEN: ADMIN,
    EDGEWATCH_INGEST_TOKEN: INGEST,
    EDGEWATCH_HEARTBEAT_INTERVAL: '1s',
    EDGEWATCH_HEARTBEAT_TIMEOUT: '3s',
    // The server ends each stream this soon: the console must reconnect with its last event id.
    EDGEWATCH_STREAM_MAX: '4s',
  })
  browser = await launchChromium()
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  page = await context.newPage()
  page.on('pageerror', (e) => console.error('page error:', e.message))
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/v1/stream') streamRequests.push(r.headers()['last-event-id'] ?? '')
  })
}, 60_000)

afterAll(async () => {
  await agent?.stop({ goodbye: false }).catch(() => {})
  await browser?.close()
  await server?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe.runIf(run)('fleet console in Chromium', () => {
  it('refuses a wrong token, accepts the admin token, and shows the empty state with a first curl line', async () => {
    await page.goto(`${server.url}/`)
    expect(page.url()).toContain('/app/console/')
    await page.fill('#token', 'not-the-admin-token-at-all')
    await page.click('#signin button[type=submit]')
    await page.waitForSelector('#signin-error:not([hidden])')
    expect(await page.textContent('#signin-error')).toContain('refused this token')
    // The ingest token is not the admin token either.
    await page.fill('#token', INGEST)
    await page.click('#signin button[type=submit]')
    await page.waitForFunction(() =>
      document.querySelector('#signin-error')?.textContent?.includes('admin token'),
    )

    await page.fill('#token', ADMIN)
    await page.click('#signin button[type=submit]')
    await page.waitForSelector('#empty-state')
    const curl = await page.textContent('#curl-first-record')
    expect(curl).toContain(`curl -s ${server.url}/v1/ingest`)
    expect(curl).toContain('$INGEST_TOKEN')
    expect(await page.getAttribute('#empty-state a[href="/app/mcu/"]', 'href')).toBe('/app/mcu/')
    expect(await page.textContent('#empty-state')).toContain('edgewatch simulate')
    await shot('console-empty.png')
  })

  it('shows a device that a real agent enrolled, connected, among the fleet', async () => {
    // A few devices that only send records (unmanaged), for a fleet with more than one status.
    const now = Date.now()
    const lines = []
    for (let d = 1; d <= 5; d++)
      for (let i = 0; i < 20; i++)
        lines.push(
          JSON.stringify({
            deviceId: `pump-${d}`,
            ts: now - (20 - i) * 1000,
            temp: 40 + d + (i % 3),
            latencyMs: 100 + i,
          }),
        )
    await api('/v1/ingest', { method: 'POST', body: `[${lines.join(',')}]` }, INGEST)
    for (let d = 1; d <= 5; d++)
      await api(`/v1/devices/pump-${d}`, {
        method: 'PATCH',
        body: JSON.stringify({ name: `Pump ${d}`, labels: { site: d < 3 ? 'plant-3' : 'plant-4' } }),
      })

    const token = await api<{ token: string }>('/v1/fleet/enrolment-tokens', {
      method: 'POST',
      body: JSON.stringify({ maxUses: 1, labels: { site: LABEL } }),
    })
    agent = await createNodeAgent({
      server: server.url,
      enrolmentToken: token.token,
      name: 'greenhouse-1',
      sensor: createEnvironment({ seed: 3 }),
      stateDir: join(dir, 'agent'),
      durable: false,
      rateHz: 2,
      batchMs: 500,
      agentVersion: '0.1.0-console-e2e',
      backoff: { capMs: 1000 },
    })
    await agent.start()
    for (let i = 0; i < 100 && !(agent.stats().deviceId && agent.stats().heartbeats > 0); i++)
      await new Promise((r) => setTimeout(r, 200))
    deviceId = agent.stats().deviceId!
    expect(deviceId).toMatch(/^dev-/)
    // No reload: the fleet refreshes by itself (live events, or every 10 s).
    const row = `#fleet-rows .row[data-device="${deviceId}"]`
    await page.waitForSelector(`${row} [data-status="connected"]`, { timeout: 30_000 })
    expect(await page.textContent(row)).toContain('greenhouse-1')
    expect(await page.textContent(row)).toContain(`site=${LABEL}`)
    expect(await page.textContent('#fleet-summary')).toMatch(/6 of 6 devices/)
    // Last-hour counts under the totals, where the server has them.
    const listed = await api<{ items: { lastHour?: unknown }[] }>('/v1/devices')
    if (listed.items[0]?.lastHour !== undefined) {
      await page.waitForFunction((r) => document.querySelector(r)?.textContent?.includes('last hour'), row)
      expect(await page.textContent('#fleet-summary')).not.toContain('no last-hour counts')
    }

    // Filter by label and by status; sort by anomalies.
    await page.fill('#filter-label', 'site=plant-3')
    await page.waitForFunction(() => document.querySelectorAll('#fleet-rows .row').length === 2)
    await page.fill('#filter-label', '')
    await page.selectOption('#filter-status', 'connected')
    await page.waitForFunction(() => document.querySelectorAll('#fleet-rows .row').length === 1)
    await page.selectOption('#filter-status', '')
    await page.click('button[data-sort="name"]')
    expect(await page.getAttribute('[role=columnheader].col-name', 'aria-sort')).toBe('ascending')
    await page.click('button[data-sort="status"]')
    await page.click('button[data-sort="status"]')
    await page.click('button[data-sort="status"]')
    await page.waitForSelector(`${row} [data-status="connected"]`)
  }, 60_000)

  it('opens the device view: a chart of its readings, its events, and an anomaly in the live feed without reload', async () => {
    await page.click(`#fleet-rows .row[data-device="${deviceId}"] a`)
    await page.waitForSelector('#device-charts figure.chart')
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLElement>('#device-charts figure.chart')].some(
        (f) => Number(f.dataset.points) > 0,
      ),
    )
    await page.waitForSelector('#device-events tr[data-kind]')
    expect(await page.textContent('#device-events')).toMatch(/enrol|connect/)
    const replayHref = await page.getAttribute('#open-replay', 'href')
    expect(replayHref).toContain(`deviceId=${deviceId}`)
    expect(replayHref).toContain('since=')

    // A clear spike on a steady series of this device, sent with the ingest token.
    const now = Date.now()
    const records = Array.from({ length: 40 }, (_, i) => ({
      deviceId,
      ts: now - (40 - i) * 200,
      vibration: i === 39 ? 90 : 1 + (i % 4) * 0.01,
    }))
    const answer = await api<{ anomalies: { kind: string }[] }>(
      '/v1/ingest',
      { method: 'POST', body: JSON.stringify(records) },
      INGEST,
    )
    expect(answer.anomalies.map((a) => a.kind)).toContain('spike')
    await page.waitForSelector(`#feed-list li[data-device="${deviceId}"][data-kind="spike"]`, {
      timeout: 20_000,
    })
    expect(await page.textContent('#live-status')).toMatch(/streaming|polling every/)
    // The device view picks up the new metric, with its anomaly marked.
    await page.waitForFunction(
      () =>
        Number(document.querySelector<HTMLElement>('figure[data-metric="vibration"]')?.dataset.anomalies) > 0,
      undefined,
      { timeout: 20_000 },
    )
    expect(await page.textContent('#chart-legend')).toContain('spike')
    // The stream ended (EDGEWATCH_STREAM_MAX) and the console came back with its last event id.
    for (let i = 0; i < 50 && streamRequests.length < 2; i++) await new Promise((r) => setTimeout(r, 200))
    expect(streamRequests.length).toBeGreaterThan(1)
    expect(streamRequests.slice(1).every((id) => id.length > 0)).toBe(true)
    await shot('console-device.png')

    // The replay tool opens with this device and time range filled in, and the token of the tab.
    await page.click('#open-replay')
    await page.waitForURL(/\/app\/\?server=/)
    await page.waitForSelector('form.pull input[name="deviceId"]')
    expect(await page.inputValue('form.pull input[name="deviceId"]')).toBe(deviceId)
    expect(await page.inputValue('form.pull input[name="server"]')).toBe(server.url)
    expect(Date.parse(await page.inputValue('form.pull input[name="since"]'))).toBeGreaterThan(0)
    expect(await page.inputValue('form.pull input[name="token"]')).toBe(ADMIN)
    // Back, and reloaded: the replay tool's service worker now controls /app/ and must give the
    // console its own page.
    await page.goBack()
    await page.reload()
    await page.waitForSelector('#device-charts figure.chart')
  }, 60_000)

  it('uploads an app from the console (a bad one is refused with the reason) and deploys it to the label: running', async () => {
    await page.click('nav a[data-nav="apps"]')
    await page.waitForSelector('#upload-form')
    await page.setInputFiles('#app-file', appPath('forbidden-import'))
    await page.fill('#app-name', 'forbidden')
    await page.click('#upload-form button[type=submit]')
    await page.waitForFunction(() =>
      document.querySelector('#upload-status')?.textContent?.includes('invalid_app'),
    )
    expect(await page.textContent('#upload-status')).toContain('wasi_snapshot_preview1')

    await page.setInputFiles('#app-file', appPath('well-behaved'))
    await page.fill('#app-name', 'counter')
    await page.fill('#app-version', '1.0.0')
    await page.fill('#app-fuel', '100000')
    await page.fill('#app-tickMs', '500')
    await page.fill('#app-wallMs', '200')
    await page.click('#upload-form button[type=submit]')
    await page.waitForFunction(() =>
      document.querySelector('#upload-status')?.textContent?.startsWith('Uploaded counter@1.0.0'),
    )
    expect(await page.textContent('#apps-list')).toContain('counter@1.0.0')
    await shot('console-apps.png')

    expect(
      await page.$eval('#deploy-app', (s) => (s as HTMLSelectElement).selectedOptions[0]?.textContent),
    ).toBe('counter@1.0.0')
    await page.fill('#deploy-target', `site=${LABEL}`)
    await page.click('#deploy-form button[type=submit]')
    await page.waitForFunction(() => location.hash.startsWith('#/deployments/dep'))
    await page.waitForSelector(`#rollout-batches tr[data-device="${deviceId}"][data-state="running"]`, {
      timeout: 30_000,
    })
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>('#view')?.dataset.state === 'succeeded',
      undefined,
      {
        timeout: 30_000,
      },
    )
    const counts = await page.textContent('[data-count="running"]')
    expect(counts).toContain('1')
    // The fuel per tick the device reports is shown.
    await page.waitForFunction(
      (id) => {
        const cells = document.querySelectorAll(`#rollout-batches tr[data-device="${id}"] td`)
        return Number(cells[4]?.textContent?.replace(/,/g, '')) > 0
      },
      deviceId,
      { timeout: 15_000 },
    )
    expect(await page.isDisabled('#action-pause')).toBe(true)
    await shot('console-rollout.png')
  }, 90_000)

  it('deploys an endless loop: the device shows failed, with its reason', async () => {
    await page.click('nav a[data-nav="apps"]')
    await page.waitForSelector('#upload-form')
    await page.setInputFiles('#app-file', appPath('endless-loop'))
    await page.fill('#app-name', 'spinner')
    await page.fill('#app-version', '1.0.0')
    await page.fill('#app-fuel', '100000')
    await page.fill('#app-maxRestarts', '0')
    await page.click('#upload-form button[type=submit]')
    await page.waitForFunction(() =>
      document.querySelector('#upload-status')?.textContent?.startsWith('Uploaded spinner@1.0.0'),
    )
    await page.fill('#deploy-target', `site=${LABEL}`)
    await page.fill('#deploy-maxFailures', '100%')
    await page.click('#deploy-form button[type=submit]')
    await page.waitForFunction(() => location.hash.startsWith('#/deployments/dep'))
    const row = `#rollout-batches tr[data-device="${deviceId}"][data-state="failed"]`
    await page.waitForSelector(row, { timeout: 40_000 })
    expect(await page.textContent(row)).toMatch(/fuel_exhausted|wall_timeout/)
    // The count of failed devices says so too. (The deployment itself may end `succeeded` or
    // `failed`: the device reported the app running before its first tick ran out of fuel.)
    await page.waitForFunction(() =>
      document.querySelector('[data-count="failed"]')?.textContent?.trim().endsWith('1'),
    )
  }, 90_000)

  it('pauses, resumes and rolls back a rollout from its buttons', async () => {
    await page.click('nav a[data-nav="apps"]')
    await page.waitForSelector('#upload-form')
    await page.setInputFiles('#app-file', appPath('well-behaved'))
    await page.fill('#app-name', 'counter')
    await page.fill('#app-version', '1.1.0')
    await page.fill('#app-fuel', '100000')
    await page.click('#upload-form button[type=submit]')
    await page.waitForFunction(() =>
      document.querySelector('#upload-status')?.textContent?.startsWith('Uploaded counter@1.1.0'),
    )
    await page.fill('#deploy-target', `site=${LABEL}`)
    await page.fill('#deploy-bake', '10m') // it stays rolling while its one batch bakes
    await page.click('#deploy-form button[type=submit]')
    await page.waitForFunction(() => location.hash.startsWith('#/deployments/dep'))
    const state = (s: string) =>
      page.waitForFunction((want) => document.querySelector<HTMLElement>('#view')?.dataset.state === want, s)
    await state('rolling')
    await page.click('#action-pause')
    await state('paused')
    expect(await page.isDisabled('#action-pause')).toBe(true)
    await page.click('#action-resume')
    await state('rolling')
    await page.click('#action-rollback')
    await state('rolled_back')
    expect(await page.textContent('#rollout-reason')).toContain('rolled back by an operator')
    expect(await page.isDisabled('#action-rollback')).toBe(true)
  }, 60_000)

  it('falls back to polling when the stream is unsupported (501), says so, and still shows new anomalies', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const polling = await context.newPage()
    await polling.route(
      (url) => url.pathname === '/v1/stream',
      (route) =>
        route.fulfill({
          status: 501,
          contentType: 'application/json',
          body: JSON.stringify({
            error: { code: 'stream_unsupported', message: 'cannot stream here', details: null },
          }),
        }),
    )
    try {
      await polling.goto(`${server.url}/app/console/#/fleet`)
      await polling.fill('#token', ADMIN)
      await polling.click('#signin button[type=submit]')
      await polling.waitForFunction(() =>
        document.querySelector('#live-status')?.textContent?.includes('live updates by polling every 5 s'),
      )
      expect(await polling.textContent('#live-status')).toContain('this server cannot stream')
      const now = Date.now()
      const records = Array.from({ length: 40 }, (_, i) => ({
        deviceId: 'pump-2',
        ts: now - (40 - i) * 200,
        pressure: i === 39 ? 60 : 3 + (i % 4) * 0.01,
      }))
      await api('/v1/ingest', { method: 'POST', body: JSON.stringify(records) }, INGEST)
      await polling.waitForSelector('#feed-list li[data-device="pump-2"][data-kind="spike"]', {
        timeout: 15_000,
      })
    } finally {
      await context.close()
    }
  }, 60_000)

  it('keeps thousands of devices in a virtualised list (only the rows in view are in the page); signs out', async () => {
    // The fleet with the agent's apps (one running, one failed) and the anomalies found so far.
    await page.click('nav a[data-nav="fleet"]')
    await page.waitForSelector(`#fleet-rows .row[data-device="${deviceId}"] .app-failed`, { timeout: 20_000 })
    await shot('console-fleet.png')
    const now = Date.now()
    const body = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({ deviceId: `sensor-${String(i).padStart(4, '0')}`, ts: now, temp: 20 + (i % 7) }),
    ).join('\n')
    await api(
      '/v1/ingest',
      { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } },
      INGEST,
    )
    await page.waitForFunction(
      () => document.querySelector('#fleet-summary')?.textContent?.includes('3,006 of 3,006'),
      undefined,
      {
        timeout: 20_000,
      },
    )
    const rendered = await page.$$eval('#fleet-rows .row', (rows) => rows.length)
    expect(rendered).toBeGreaterThan(5)
    expect(rendered).toBeLessThan(60)
    await page.fill('#filter-text', 'sensor-2999')
    await page.waitForSelector('#fleet-rows .row[data-device="sensor-2999"]')
    expect(await page.$$eval('#fleet-rows .row', (rows) => rows.length)).toBe(1)

    // Signing out forgets the token of the tab: the sign-in form again, also after a reload.
    await page.click('#sign-out')
    await page.waitForSelector('#signin')
    await page.reload()
    await page.waitForSelector('#signin')
    expect(await page.evaluate(() => sessionStorage.getItem('edgewatch.adminToken'))).toBeNull()
  }, 60_000)
})
