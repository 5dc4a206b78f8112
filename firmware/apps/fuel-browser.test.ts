// Fuel is the same number on Node and in a browser. The agent's runner (one self-contained function,
// shipped to a worker as source text) runs the example apps and fixtures, metered, in Node and in a
// Web Worker of the system's Chromium, on the same inputs; every call's outcome, fuel used, memory
// size and emitted metrics must be equal, call for call.
import { readFileSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium } from '../../web/e2e/browser.js'
import type { AppCallResult } from '../agent/apps/ports.js'
import { createRunner, DEFAULT_RUNNER_BOUNDS, type Runner } from '../agent/apps/runner.js'
import { appPath } from './build.js'
import { meter } from './wasm/meter.js'
import { validateApp } from './wasm/validate.js'

interface Case {
  app: string
  memoryPages: number
  fuel: number
  ticks: number
  /** The minimum of its memory import (from the validator). */
  memoryMin?: number
}

const CASES: Case[] = [
  { app: 'well-behaved', memoryPages: 1, fuel: 100_000, ticks: 20 },
  { app: 'report-on-change', memoryPages: 1, fuel: 1_000_000, ticks: 40 },
  { app: 'edge-detect', memoryPages: 28, fuel: 5_000_000, ticks: 80 },
  { app: 'memory-hog', memoryPages: 4, fuel: 1_000_000, ticks: 6 },
  { app: 'endless-loop', memoryPages: 1, fuel: 250_000, ticks: 2 },
  { app: 'trap', memoryPages: 1, fuel: 100_000, ticks: 5 },
]
const CHANNELS = ['flow', 'pressure', 'temperature']

/** One case's inputs, the same wherever it runs: time, and readings that move and sometimes spike. */
function inputs(c: Case): { nowMs: number; values: number[] }[] {
  return Array.from({ length: c.ticks }, (_, i) => ({
    nowMs: 1_700_000_000_000 + i * 1000,
    values: [10 + Math.sin(i / 3) + (i === 50 ? 40 : 0), 3 + (i % 7) * 0.05, 20 + i * 0.01],
  }))
}

type Outcome = Pick<AppCallResult, 'outcome' | 'fuelUsed' | 'memoryPages' | 'emits'>

/** Runs a case on a runner: start, init (when exported), then tick after tick; what each call gave. */
function runCase(runner: Runner, c: Case, bytes: Uint8Array, id: number): unknown {
  const error = runner.load(c.app, bytes)
  if (error !== null) return { load: error }
  const started = runner.start({
    id,
    key: c.app,
    memoryMin: c.memoryMin ?? 1,
    memoryMax: c.memoryPages,
    channels: CHANNELS,
  })
  if (!started.ok) return { start: started }
  const calls: Outcome[] = []
  const take = (r: AppCallResult) =>
    calls.push({ outcome: r.outcome, fuelUsed: r.fuelUsed, memoryPages: r.memoryPages, emits: r.emits })
  const first = inputs(c)[0]!
  if (started.init) take(runner.call({ id, entry: 'init', fuel: c.fuel, ...first }))
  for (const input of inputs(c)) take(runner.call({ id, entry: 'tick', fuel: c.fuel, ...input }))
  runner.stop(id)
  return calls
}

describe.runIf(chromiumAvailable())('fuel on Node and in a browser', () => {
  let browser: Browser
  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
  })

  it('every call of every app uses the same fuel, memory and emits in a Chromium Web Worker as on Node', async () => {
    const cases = CASES.map((c) => {
      const bytes = new Uint8Array(readFileSync(appPath(c.app)))
      const checked = validateApp(bytes, { maxBytes: 1 << 20, memoryPages: c.memoryPages })
      if (!checked.ok) throw new Error(`${c.app}: ${checked.reason}`)
      return { ...c, memoryMin: checked.app.memoryMin }
    })
    const metered = cases.map((c) => meter(new Uint8Array(readFileSync(appPath(c.app)))))
    const onNode = cases.map((c, i) => runCase(createRunner(DEFAULT_RUNNER_BOUNDS), c, metered[i]!, i + 1))

    const page = await browser.newPage()
    // The worker gets the runner and runCase as source text, as the agent's browser host gives it the runner.
    const workerSource = `
      const createRunner = ${String(createRunner)};
      const inputs = ${String(inputs)};
      const runCase = ${String(runCase)};
      onmessage = (e) => {
        const { cases, modules, bounds, channels } = e.data;
        globalThis.CHANNELS = channels;
        postMessage(cases.map((c, i) => runCase(createRunner(bounds), c, new Uint8Array(modules[i]), i + 1)));
      };`
    const inBrowser = await page.evaluate(
      async ({ source, cases, modules, bounds, channels }) => {
        const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }))
        const worker = new Worker(url)
        return new Promise<unknown>((resolve, reject) => {
          worker.onmessage = (e) => resolve(e.data)
          worker.onerror = (e) => reject(new Error(e.message))
          worker.postMessage({ cases, modules, bounds, channels })
        })
      },
      {
        source: workerSource,
        cases,
        modules: metered.map((m) => [...m]),
        bounds: DEFAULT_RUNNER_BOUNDS,
        channels: CHANNELS,
      },
    )
    expect(inBrowser).toEqual(onNode)

    // And the cases say what they should: real fuel counts, the loop stopped by fuel, the trap a trap.
    const byApp = Object.fromEntries(CASES.map((c, i) => [c.app, onNode[i] as Outcome[]]))
    for (const c of CASES)
      expect(Array.isArray(byApp[c.app]), `${c.app}: ${JSON.stringify(byApp[c.app])}`).toBe(true)
    expect(byApp['well-behaved']!.every((r) => r.outcome.ok && r.fuelUsed > 0)).toBe(true)
    expect(byApp['edge-detect']!.every((r) => r.outcome.ok)).toBe(true)
    expect(new Set(byApp['edge-detect']!.map((r) => r.fuelUsed)).size).toBeGreaterThan(2)
    expect(byApp['report-on-change']!.some((r) => r.emits.length > 0)).toBe(true)
    expect(byApp['endless-loop']!.at(-1)!.outcome).toMatchObject({ ok: false, trap: 'fuel_exhausted' })
    expect(byApp['memory-hog']!.every((r) => r.memoryPages <= 4)).toBe(true)
    expect(byApp.trap!.some((r) => !r.outcome.ok && r.outcome.trap !== 'fuel_exhausted')).toBe(true)
    await page.close()
  })
})
