// The IndexedDB storage runs the storage contract (firmware/agent/testing/storage-contract.ts) in the
// system's Chromium: the contract is bundled with a small stand-in for vitest (testing/vitest-shim.ts)
// into a page with a real origin, and every test of it must pass there.
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium } from '../../web/e2e/browser.js'

// localhost: a secure context (WebCrypto needs one), and the request never leaves playwright's route.
const ORIGIN = 'http://localhost:9'

describe.runIf(chromiumAvailable())('IndexedDB storage in Chromium', () => {
  let browser: Browser
  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('passes the storage contract, and keeps a private key no one can export', async () => {
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL('./testing/contract-entry.ts', import.meta.url))],
      bundle: true,
      write: false,
      format: 'iife',
      target: 'es2022',
      alias: { vitest: fileURLToPath(new URL('./testing/vitest-shim.ts', import.meta.url)) },
    })
    const page = await browser.newPage()
    await page.route(`${ORIGIN}/**`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>storage contract</title>' }),
    )
    await page.goto(`${ORIGIN}/`)
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text })
    const results = (await page.evaluate(() =>
      (window as unknown as { runStorageContract: () => Promise<unknown> }).runStorageContract(),
    )) as { name: string; error: string | null }[]
    expect(results.length).toBeGreaterThanOrEqual(6)
    expect(results.filter((r) => r.error !== null)).toEqual([])
    await page.close()
  })
})
