// Replay tool benchmark, in Chromium: import 1,000,000 records (NDJSON) into IndexedDB, then a
// full kernel pass in the replay worker, and the longest main-thread task meanwhile.
// Ends with one JSON line. BENCH_RECORDS sets the size.
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import { startServer } from '../test/server-process.js'
import { CHROMIUM, launchChromium } from '../web/e2e/browser.js'
import { fixtureLines } from '../web/e2e/fixture.js'
import { median, report } from './stats.js'

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 5)
const dir = mkdtempSync(join(tmpdir(), 'edgewatch-bench-replay-'))
const file = join(dir, 'replay.ndjson')

const out = createWriteStream(file)
for (const line of fixtureLines({ records: RECORDS, devices: 10 }))
  if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()))
out.end()
await finished(out)

const server = await startServer({ EDGEWATCH_DATA_DIR: join(dir, 'data') })
const browser = await launchChromium()
try {
  const page = await browser.newPage()
  // The longest main-thread task while importing and replaying (the bar: never over 50 ms).
  await page.addInitScript(() => {
    const w = window as unknown as { longest: number }
    w.longest = 0
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longest = Math.max(w.longest, e.duration)
    }).observe({ type: 'longtask', buffered: true })
  })
  await page.goto(`${server.url}/app/`)
  await page.waitForLoadState('networkidle')
  const longestAtLoad = await page.evaluate(() => {
    const w = window as unknown as { longest: number }
    const at = w.longest
    w.longest = 0
    return at
  })
  const doneIs = (n: number) => `document.querySelector('#summary')?.dataset.done === '${n}'`
  const t0 = performance.now()
  await page.setInputFiles('#file', file)
  await page.waitForFunction(
    () => /^Imported/.test(document.querySelector('#import .status')?.textContent ?? ''),
    null,
    {
      timeout: 600_000,
      polling: 50,
    },
  )
  const importS = (performance.now() - t0) / 1000
  await page.waitForFunction(doneIs(RECORDS), null, { timeout: 600_000, polling: 50 })
  const openS = (performance.now() - t0) / 1000 - importS
  const loadMs = Number(await page.$eval('#summary', (el) => (el as HTMLElement).dataset.loadMs))
  const longestImport = await page.evaluate(() => (window as unknown as { longest: number }).longest)

  // Full kernel passes: time in the worker (kernels and analysis) and seen from the page.
  const kernelMs: number[] = []
  const wallMs: number[] = []
  for (let i = 0; i < RUNS; i++) {
    await page.$eval('#summary', (el) => delete (el as HTMLElement).dataset.done)
    const t = performance.now()
    await page.click('#run-all')
    await page.waitForFunction(doneIs(RECORDS), null, { timeout: 600_000, polling: 10 })
    wallMs.push(performance.now() - t)
    kernelMs.push(Number(await page.$eval('#summary', (el) => (el as HTMLElement).dataset.ms)))
  }
  const anomalies = Number(await page.$eval('#summary', (el) => (el as HTMLElement).dataset.anomalies))
  const longest = await page.evaluate(() => (window as unknown as { longest: number }).longest)
  const result = {
    bench: 'replay',
    browser: CHROMIUM,
    records: RECORDS,
    importSeconds: Number(importS.toFixed(2)),
    importRecordsPerSecond: Math.round(RECORDS / importS),
    openSeconds: Number(openS.toFixed(2)),
    loadFromIndexedDbMs: Math.round(loadMs),
    fullPassMsMedian: Math.round(median(kernelMs)),
    fullPassWallMsMedian: Math.round(median(wallMs)),
    runs: RUNS,
    anomalies,
    longestMainThreadTaskMsAtPageLoad: Math.round(longestAtLoad),
    longestMainThreadTaskMsDuringImport: Math.round(longestImport),
    longestMainThreadTaskMs: Math.round(longest),
    targets: { importSeconds: 20, fullPassMs: 1000, longestMainThreadTaskMs: 50 },
  }
  console.log(
    `replay ${RECORDS.toLocaleString('en-US')} records: import ${result.importSeconds} s, full pass ${result.fullPassMsMedian} ms (median of ${RUNS}), longest main-thread task while importing and replaying ${result.longestMainThreadTaskMs} ms`,
  )
  report(result)
} finally {
  await browser.close()
  await server.stop()
  rmSync(dir, { recursive: true, force: true })
}
