// The browser app host in the system's Chromium (bundled into a page, apps in real Web Workers): fuel
// as on the caller's thread, the wall-clock watchdog ends an overrun (wall_timeout) and its neighbour
// on the same worker answers host_restart; a new instance starts on a fresh worker.
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium } from '../../web/e2e/browser.js'
import { sha256Hex } from '../agent/apps/download.js'
import { inlineAppHost } from '../agent/apps/inline-host.js'
import type { AppCallResult, PreparedModule } from '../agent/apps/ports.js'
import { prepareModule } from '../agent/apps/prepare.js'
import { DEFAULT_LIMITS } from '../agent/apps/testing/app-server.js'
import { endlessLoop, wellBehaved } from '../agent/apps/testing/wasm.js'

const ORIGIN = 'http://localhost:9'

async function moduleOf(bytes: Uint8Array): Promise<PreparedModule> {
  const sha256 = await sha256Hex(bytes)
  const release = {
    appId: 'a',
    name: 'a',
    version: '1',
    sha256,
    size: bytes.length,
    deploymentId: 'd',
    limits: { ...DEFAULT_LIMITS, memoryPages: 4 },
    telemetry: 'add' as const,
  }
  return prepareModule(bytes, release, 512 * 1024)
}

describe.runIf(chromiumAvailable())('browser app host in Chromium', () => {
  let browser: Browser
  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('holds fuel as on Node, kills an overrun at its wall time, and restarts its neighbour', async () => {
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL('./testing/app-host-entry.ts', import.meta.url))],
      bundle: true,
      write: false,
      format: 'iife',
      target: 'es2022',
    })
    const page = await browser.newPage()
    await page.route(`${ORIGIN}/**`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html>' }),
    )
    await page.goto(`${ORIGIN}/`)
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text })
    const modules = { loop: await moduleOf(endlessLoop()), well: await moduleOf(wellBehaved()) }
    const got = (await page.evaluate(
      (m) => (window as unknown as { appHostCase: (m: unknown) => Promise<unknown> }).appHostCase(m),
      {
        loop: { ...modules.loop, bytes: [...modules.loop.bytes] },
        well: { ...modules.well, bytes: [...modules.well.bytes] },
      },
    )) as Record<string, AppCallResult> & { killedAfterMs: number; counts: Record<string, number> }
    // The same call on the caller's thread (the inline host) gives the same fuel, memory and emits.
    const inline = inlineAppHost()
    const reference = await (
      await inline.start({ module: modules.well, memoryPages: 4, wallMs: 5_000, channels: ['flow', 'temp'] })
    ).call('tick', { nowMs: 1000, fuel: 100_000, wallMs: 1_000, values: [2.5, 20] })
    expect(got.first).toEqual(reference)
    expect(got.overrun!.outcome).toMatchObject({ ok: false, trap: 'wall_timeout' })
    expect(got.killedAfterMs).toBeGreaterThanOrEqual(300)
    expect(got.killedAfterMs).toBeLessThan(2_000)
    expect(got.neighbour!.outcome).toMatchObject({ ok: false, trap: 'host_restart' })
    expect(got.later!.outcome).toMatchObject({ ok: false, trap: 'host_restart' })
    expect(got.fresh!.outcome.ok).toBe(true)
    expect(got.counts).toMatchObject({ wallTimeouts: 1, hostRestarts: 1 })
    await page.close()
  })
})
