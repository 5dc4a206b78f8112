// The worker-thread app host: the wall-clock watchdog (dedicated and pooled), memory and fuel held in
// a worker exactly as on the caller's thread, a pool carrying a thousand instances, and the manager's
// answer to a pooled overrun (the culprit counts a restart, its neighbours do not).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { sha256Hex } from '../agent/apps/download.js'
import { inlineAppHost } from '../agent/apps/inline-host.js'
import { createAppManager } from '../agent/apps/manager.js'
import { memoryAppStore } from '../agent/apps/memory-store.js'
import { type AppHost, type AppInstance, AppStartError, type PreparedModule } from '../agent/apps/ports.js'
import { prepareModule } from '../agent/apps/prepare.js'
import type { AppRelease, AppReport } from '../agent/apps/release.js'
import { DEFAULT_LIMITS } from '../agent/apps/testing/app-server.js'
import { endlessLoop, huge, memoryHog, trapsAfter, wellBehaved, work } from '../agent/apps/testing/wasm.js'
import { fakeClock } from '../agent/testing/fake-clock.js'
import { createWorkerAppHost, type WorkerAppHost } from './app-host.js'

const hosts: WorkerAppHost[] = []
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.close()
})
const hostOf = (workers: 'dedicated' | number) => {
  const host = createWorkerAppHost({ workers })
  hosts.push(host)
  return host
}

async function releaseOf(
  name: string,
  bytes: Uint8Array,
  limits: Partial<AppRelease['limits']> = {},
): Promise<AppRelease> {
  const sha256 = await sha256Hex(bytes)
  return {
    appId: `app-${name}`,
    name,
    version: '1',
    sha256,
    size: bytes.length,
    deploymentId: 'dep-1',
    limits: { ...DEFAULT_LIMITS, ...limits },
    telemetry: 'add',
  }
}

async function moduleOf(bytes: Uint8Array, memoryPages = 4): Promise<PreparedModule> {
  const release = await releaseOf('m', bytes, { memoryPages })
  return prepareModule(bytes, release, 512 * 1024)
}

const start = async (host: AppHost, module: PreparedModule, memoryPages = 4) =>
  host.start({ module, memoryPages, wallMs: 5_000, channels: ['flow', 'temp'] })
const tick = (instance: AppInstance, fuel = 100_000, wallMs = 1_000) =>
  instance.call('tick', { nowMs: 1000, fuel, wallMs, values: [2.5, 20] })

describe('worker app host', () => {
  it('dedicated: an overrun is killed at wallMs (wall_timeout) and no other app notices', async () => {
    const host = hostOf('dedicated')
    const loop = await start(host, await moduleOf(endlessLoop()))
    const good = await start(host, await moduleOf(wellBehaved()))
    expect(host.counts().workers).toBe(2)
    const t0 = performance.now()
    const [overran, fine] = await Promise.all([tick(loop, 1e15, 200), tick(good)])
    const took = performance.now() - t0
    expect(overran.outcome).toEqual({
      ok: false,
      trap: 'wall_timeout',
      message: 'no answer within 200 ms of wall time',
    })
    expect(took).toBeGreaterThanOrEqual(195)
    // Killed, not run out: with 1e15 fuel the loop would run for hours. The bound is loose because
    // a loaded CI machine (every test file at once) once took 5 s to answer both ticks.
    expect(took).toBeLessThan(20_000)
    expect(fine.outcome).toEqual({ ok: true, result: 0 })
    expect((await tick(good)).emits).toEqual([
      ['counter', 2],
      ['first', 2.5],
    ])
    // The killed instance is gone; its worker too.
    expect((await tick(loop)).outcome).toMatchObject({ ok: false, trap: 'host_restart' })
    expect(host.counts()).toMatchObject({ workers: 1, wallTimeouts: 1, hostRestarts: 0 })
    loop.stop()
    good.stop()
    expect(host.counts().workers).toBe(0)
  })

  it('pooled: an overrun kills its worker; its neighbours there get host_restart, other workers carry on', async () => {
    const host = hostOf(2)
    const loop = await start(host, await moduleOf(endlessLoop())) // worker 1
    const elsewhere = await start(host, await moduleOf(wellBehaved())) // worker 2
    const neighbour = await start(host, await moduleOf(wellBehaved())) // worker 1 again (least loaded)
    const [overran, fine, hit] = await Promise.all([tick(loop, 1e15, 150), tick(elsewhere), tick(neighbour)])
    expect(overran.outcome).toMatchObject({ ok: false, trap: 'wall_timeout' })
    expect(fine.outcome).toEqual({ ok: true, result: 0 })
    expect(hit.outcome).toMatchObject({ ok: false, trap: 'host_restart' })
    expect((hit.outcome as { message: string }).message).toMatch(/another app overran/)
    expect(host.counts()).toMatchObject({ workers: 1, wallTimeouts: 1, hostRestarts: 1 })
    // A new worker takes the next instance.
    const again = await start(host, await moduleOf(wellBehaved()))
    expect((await tick(again)).outcome).toEqual({ ok: true, result: 0 })
    expect(host.counts().workers).toBe(2)
  })

  it('holds memory and fuel in a worker exactly as on the calling thread', async () => {
    const inline = inlineAppHost()
    const pool = hostOf(1)
    for (const bytes of [work(1000), memoryHog(), trapsAfter(1), endlessLoop()]) {
      const module = await moduleOf(bytes)
      const [a, b] = [await start(inline, module), await start(pool, module)]
      for (let i = 0; i < 5; i++) expect(await tick(b, 20_000)).toEqual(await tick(a, 20_000))
      a.stop()
      b.stop()
    }
    // A memory hog's memory stops at its limit.
    const hog = await start(pool, await moduleOf(memoryHog(), 3), 3)
    const results = []
    for (let i = 0; i < 4; i++) results.push(await tick(hog))
    expect(results.map((r) => [r.outcome, r.memoryPages])).toEqual([
      [{ ok: true, result: 0 }, 2],
      [{ ok: true, result: 0 }, 3],
      [{ ok: true, result: 1 }, 3],
      [{ ok: true, result: 1 }, 3],
    ])
  })

  it('refuses to start what cannot run: a module needing more memory than allowed', async () => {
    const host = hostOf(1)
    const module = await moduleOf(huge(200 * 1024), 8)
    const error = await start(host, module, 2).catch((e) => e)
    expect(error).toBeInstanceOf(AppStartError)
    expect(error).toMatchObject({
      kind: 'memory',
      permanent: true,
      message: 'the module needs 4 memory pages, the limit is 2',
    })
  })

  it('pooled: a thousand instances on two workers, their ticks batched', async () => {
    const host = hostOf(2)
    const module = await moduleOf(wellBehaved())
    const instances = await Promise.all(Array.from({ length: 1000 }, () => start(host, module)))
    expect(host.counts()).toMatchObject({ workers: 2, instances: 1000 })
    for (let round = 1; round <= 3; round++) {
      const results = await Promise.all(instances.map((i) => tick(i)))
      expect(results.every((r) => r.outcome.ok && r.emits[0]![1] === round)).toBe(true)
    }
    for (const i of instances) i.stop()
    expect(host.counts().instances).toBe(0)
  })

  it('the endless-loop fixture with fuel to spare: wall_timeout after wallMs, restarts with backoff, failed', async () => {
    const host = hostOf('dedicated')
    const clock = fakeClock()
    clock.holdWhile(() => host.busy())
    const bytes = new Uint8Array(
      readFileSync(join(import.meta.dirname, '..', 'apps', 'build', 'endless-loop.wasm')),
    )
    const release = await releaseOf('endless-loop', bytes, { fuel: 1e15, wallMs: 100, maxRestarts: 2 })
    const manager = createAppManager({
      host,
      clock,
      store: memoryAppStore(),
      download: async () => ({ kind: 'bytes', bytes }),
      channels: [],
      emit: () => {},
    })
    manager.desire([release])
    await clock.runUntil(() => manager.report()[0]?.state === 'failed', { realMs: 20_000 })
    expect(manager.report()[0]).toMatchObject({
      restarts: 2,
      ticks: 3,
      reason: 'wall_timeout: no answer within 100 ms of wall time',
    })
    expect(host.counts()).toMatchObject({ workers: 0, wallTimeouts: 3, hostRestarts: 0 })
    await manager.stop()
  })

  it('with the manager: the app that overran counts a restart, its neighbour on the worker does not', async () => {
    const host = hostOf(1)
    const clock = fakeClock()
    clock.holdWhile(() => host.busy())
    const releases = [
      await releaseOf('spinner', endlessLoop(), { fuel: 1e15, wallMs: 150, maxRestarts: 5 }),
      await releaseOf('counter', wellBehaved()),
    ]
    const bytes = new Map([
      [releases[0]!.appId, endlessLoop()],
      [releases[1]!.appId, wellBehaved()],
    ])
    const manager = createAppManager({
      host,
      clock,
      store: memoryAppStore(),
      download: async (r) => ({ kind: 'bytes', bytes: bytes.get(r.appId)! }),
      channels: ['flow'],
      emit: () => {},
    })
    manager.desire(releases)
    const byName = () =>
      Object.fromEntries(manager.report().map((r) => [r.name, r])) as Record<string, AppReport>
    await clock.runUntil(() => byName().spinner?.restarts === 2, { realMs: 20_000 })
    const { spinner, counter } = byName()
    expect(spinner!.reason).toMatch(/^wall_timeout: no answer within 150 ms/)
    expect(counter!.restarts).toBe(0)
    expect(counter!.reason).toMatch(/^host_restart: /)
    expect(host.counts().hostRestarts).toBeGreaterThanOrEqual(1)
    await clock.runUntil(() => byName().counter!.state === 'running' && byName().counter!.ticks >= 1, {
      realMs: 20_000,
    })
    await manager.stop()
  })
})
