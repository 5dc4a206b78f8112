// The replay tool end to end in real Chromium, against the real `edgewatch serve`: import a file,
// replay it, match `edgewatch detect` record by record, tune, reload, compare with the server, and
// work offline. Screenshots of the main views go to test-results/screenshots/.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectRoot } from '../../kernels/node.js'
import { type ServerProcess, startServer } from '../../test/server-process.js'
import { chromiumAvailable, launchChromium } from './browser.js'
import { fixtureLines } from './fixture.js'

const RECORDS = 6000
const MALFORMED_LINE = 10
const ADMIN = 'a'.repeat(32)
const INGEST = 'i'.repeat(32)
const shots = join(projectRoot(), 'test-results', 'screenshots')

const run = chromiumAvailable()
let dir: string
let server: ServerProcess
let browser: Browser
let context: BrowserContext
let page: Page
let fixture: string

beforeAll(async () => {
  if (!run) return
  dir = mkdtempSync(join(tmpdir(), 'edgewatch-web-'))
  mkdirSync(shots, { recursive: true })
  fixture = join(dir, 'sensors.ndjson')
  writeFileSync(fixture, [...fixtureLines({ records: RECORDS, malformedLine: MALFORMED_LINE })].join(''))
  server = await startServer({
    EDGEWATCH_DATA_DIR: join(dir, 'data'),
    EDGEWATCH_ADMIN_TOKEN: ADMIN,
    EDGEWATCH_INGEST_TOKEN: INGEST,
  })
  browser = await launchChromium()
  context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true })
  page = await context.newPage()
  page.on('pageerror', (e) => console.error('page error:', e.message))
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await server?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** What the summary line says (data attributes set by the controls panel). */
async function summary(p: Page) {
  return p.$eval('#summary', (el) => ({
    done: Number((el as HTMLElement).dataset.done),
    anomalies: Number((el as HTMLElement).dataset.anomalies),
    anomalousRecords: Number((el as HTMLElement).dataset.anomalousRecords),
  }))
}

async function waitForReplay(p: Page, records: number) {
  await p.waitForFunction(
    (n) => document.querySelector<HTMLElement>('#summary')?.dataset.done === String(n),
    records,
    {
      timeout: 30_000,
    },
  )
}

/** score and anomalies per line of an NDJSON results file. */
function verdicts(ndjson: string) {
  return ndjson
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { score: number | null; anomalies: string; _error?: string })
    .filter((r) => r._error === undefined)
    .map((r) => ({ score: r.score, kinds: r.anomalies.split(',').filter(Boolean).sort() }))
}

describe.runIf(run)('replay tool in Chromium', () => {
  let local: { done: number; anomalies: number; anomalousRecords: number }

  it('imports a file, reports the malformed line, and matches edgewatch detect record by record', async () => {
    await page.goto(`${server.url}/app/`)
    await expect(page.textContent('#datasets')).resolves.toContain('No datasets yet')
    await page.screenshot({ path: join(shots, 'empty.png') })
    await page.setInputFiles('#file', fixture)
    await waitForReplay(page, RECORDS - 1)
    await expect(page.textContent('#data')).resolves.toContain(`line ${MALFORMED_LINE}: invalid JSON`)
    local = await summary(page)
    await page.screenshot({ path: join(shots, 'replay.png') })

    const detected = join(dir, 'detected.ndjson')
    execFileSync(
      process.execPath,
      [join(projectRoot(), 'bin', 'edgewatch.js'), 'detect', '--input', fixture, '--output', detected],
      {
        stdio: 'pipe',
      },
    )
    const expected = verdicts(readFileSync(detected, 'utf8'))
    expect(expected).toHaveLength(RECORDS - 1)
    expect(local.anomalousRecords).toBe(expected.filter((v) => v.kinds.length > 0).length)
    expect(local.anomalousRecords).toBeGreaterThan(20)

    const download = page.waitForEvent('download')
    await page.click('#export-ndjson')
    const exported = verdicts(readFileSync((await (await download).path())!, 'utf8'))
    expect(exported).toEqual(expected)
  })

  it('plays the timeline: anomalies appear as the replay advances', async () => {
    await page.fill('#scrub', '0')
    await page.dispatchEvent('#scrub', 'input')
    await page.waitForFunction(
      () => Number(document.querySelector<HTMLElement>('#summary')?.dataset.done) < 10,
    )
    await page.selectOption('#speed', '1000')
    await page.click('#play')
    await page.waitForFunction(
      () => Number(document.querySelector<HTMLElement>('#summary')?.dataset.done) > 300,
    )
    const partway = await summary(page)
    expect(partway.anomalies).toBeLessThan(local.anomalies)
    await page.click('#play')
    await page.click('#run-all')
    await waitForReplay(page, RECORDS - 1)
    expect(await summary(page)).toEqual({ ...local, done: RECORDS - 1 })
  })

  it('zooms and pans from the keyboard, and jumps to an anomaly from the table', async () => {
    const range = () =>
      page.$eval('#charts', (el) => ({
        from: Number((el as HTMLElement).dataset.from),
        to: Number((el as HTMLElement).dataset.to),
      }))
    const all = await range()
    await page.focus('figure.chart')
    await page.keyboard.press('+')
    await page.waitForFunction((w) => {
      const el = document.querySelector<HTMLElement>('#charts')!
      return Math.abs(Number(el.dataset.to) - Number(el.dataset.from) - w / 2) < 2
    }, all.to - all.from)
    const zoomed = await range()
    await page.focus('figure.chart')
    await page.keyboard.press('ArrowRight')
    await page.waitForFunction(
      (f) => Number(document.querySelector<HTMLElement>('#charts')!.dataset.from) > f,
      zoomed.from,
    )
    const row = page.locator('#anomaly-table tbody tr').nth(3)
    const when = Date.parse((await row.locator('td').first().textContent())!)
    await row.focus()
    await page.keyboard.press('Enter')
    await page.waitForFunction((t) => {
      const el = document.querySelector<HTMLElement>('#charts')!
      return (
        Number(el.dataset.from) < t &&
        t < Number(el.dataset.to) &&
        Number(el.dataset.to) - Number(el.dataset.from) < 10 * 60_000
      )
    }, when)
    await page.click('text=Show all')
  })

  it('re-runs on a parameter change and the count changes', async () => {
    const before = await summary(page)
    await page.fill('#p-outlier-z', '2')
    await page.dispatchEvent('#p-outlier-z', 'change')
    await page.waitForFunction(
      (n) => Number(document.querySelector<HTMLElement>('#summary')?.dataset.anomalies) > n,
      before.anomalies,
      { timeout: 30_000 },
    )
    await page.fill('#p-outlier-z', '-1')
    await page.dispatchEvent('#p-outlier-z', 'change')
    await page.waitForSelector('#banner.error')
    await expect(page.textContent('#banner')).resolves.toContain('z')
    await page.screenshot({ path: join(shots, 'tuned.png') })
    await page.click('text=Reset to defaults')
    await page.waitForFunction(
      (n) => document.querySelector<HTMLElement>('#summary')?.dataset.anomalies === String(n),
      before.anomalies,
    )
  })

  it('exports the tuned parameters, every bound of a rule kept, as the server config', async () => {
    const bounds: [string, string][] = [
      ['#rule-0-above', '70'],
      ['#rule-0-below', '-10'],
    ]
    for (const [id, value] of bounds) {
      await page.fill(id, value)
      await page.dispatchEvent(id, 'change')
    }
    // The re-run is debounced: export until the worker has the new parameters.
    const exported = async () => {
      const download = page.waitForEvent('download')
      await page.click('#export-params')
      return JSON.parse(readFileSync((await (await download).path())!, 'utf8')).rules?.metrics?.[0]
    }
    await expect
      .poll(exported, { timeout: 10_000 })
      .toEqual({ kind: 'high_temp', metric: 'temp', above: 70, below: -10 })
    await page.click('text=Reset to defaults')
  })

  it('keeps the dataset across a reload', async () => {
    await page.reload()
    await expect(page.locator('ul.datasets li').first().textContent()).resolves.toContain('sensors.ndjson')
    await page.locator('ul.datasets button.open').first().click()
    await waitForReplay(page, RECORDS - 1)
    expect(await summary(page)).toEqual({ ...local, done: RECORDS - 1 })
  })

  it('pulls the export from the server and finds the same verdicts', async () => {
    const body = readFileSync(fixture, 'utf8')
      .split('\n')
      .filter((_, i) => i !== MALFORMED_LINE - 1)
      .join('\n')
    const res = await fetch(`${server.url}/v1/ingest`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'application/x-ndjson' },
      body,
    })
    expect(res.status).toBe(200)
    await page.fill('input[name=token]', 'wrong-token')
    await page.click('text=Pull export')
    await expect(page.waitForSelector('#banner.error', { timeout: 10_000 })).resolves.toBeTruthy()
    await expect(page.textContent('#banner')).resolves.toContain('401')
    await page.fill('input[name=token]', ADMIN)
    await page.click('text=Pull export')
    await waitForReplay(page, RECORDS - 1)
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>('#comparison')?.dataset.different === '0',
    )
    await expect(page.textContent('#comparison')).resolves.toContain('Identical')
    await page.fill('#p-spike-k', '3')
    await page.dispatchEvent('#p-spike-k', 'change')
    await page.waitForFunction(
      () => Number(document.querySelector<HTMLElement>('#comparison')?.dataset.different) > 0,
      null,
      {
        timeout: 30_000,
      },
    )
    await page.locator('#compare').scrollIntoViewIfNeeded()
    await page.screenshot({ path: join(shots, 'compare.png') })
    await page.click('text=Reset to defaults')
  })

  it('opens and replays with no network once loaded', async () => {
    await page.waitForFunction(() => document.body.dataset.sw === 'ready', null, { timeout: 20_000 })
    await context.setOffline(true)
    try {
      await page.reload()
      // The network is really gone (navigator.onLine, which the page's label shows, is not
      // emulated after a reload by every Chromium): anything the service worker does not keep fails.
      const reach = await page.evaluate(() =>
        fetch('/healthz', { cache: 'no-store' }).then(
          () => 'reached',
          () => 'unreachable',
        ),
      )
      expect(reach).toBe('unreachable')
      await page.locator('ul.datasets button.open').last().click()
      await waitForReplay(page, RECORDS - 1)
      expect((await summary(page)).anomalousRecords).toBe(local.anomalousRecords)
      await page.screenshot({ path: join(shots, 'offline.png') })
    } finally {
      await context.setOffline(false)
    }
  })

  it('deletes a dataset', async () => {
    const count = await page.locator('ul.datasets li').count()
    page.once('dialog', (d) => void d.accept())
    await page.locator('ul.datasets button.danger').first().click()
    await page.waitForFunction((n) => document.querySelectorAll('ul.datasets li').length === n - 1, count)
  })
})
