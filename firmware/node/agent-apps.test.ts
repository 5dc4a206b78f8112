// The Node agent with apps: modules in <stateDir>/apps/, instances in worker threads. A restart over
// the same directory runs the release it ran without downloading it again.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { AppReport } from '../agent/apps/release.js'
import { withApps } from '../agent/apps/testing/app-server.js'
import { wellBehaved } from '../agent/apps/testing/wasm.js'
import { countingSensor, harness, SERVER_URL } from '../agent/testing/harness.js'
import { createNodeAgent } from './agent.js'
import { createWorkerAppHost } from './app-host.js'

const dirs: string[] = []
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

describe('Node agent with apps', () => {
  it('runs an app in a worker, keeps its module in the state directory, and after a restart runs it without a download', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgewatch-agent-apps-'))
    dirs.push(dir)
    const h = harness()
    const apps = withApps(h.server)
    const counter = await apps.publish('counter', '1.0.0', wellBehaved())
    apps.desired = [counter]
    const lastApps = () => ([...h.server.devices.values()][0]?.heartbeats.at(-1)?.apps ?? []) as AppReport[]

    for (let run = 0; run < 2; run++) {
      const host = createWorkerAppHost()
      h.clock.holdWhile(() => host.busy())
      const agent = await createNodeAgent({
        server: SERVER_URL,
        transport: h.transportOf(apps.fetch),
        enrolmentToken: 'enrol-token',
        stateDir: dir,
        durable: false,
        sensor: countingSensor(),
        clock: h.clock,
        rateHz: 2,
        batchMs: 1000,
        agentVersion: 'test',
        appHost: host,
      })
      await agent.start()
      const startedAt = h.clock.now()
      await h.clock.runUntil(() => lastApps()[0]?.state === 'running' && lastApps()[0]!.since >= startedAt, {
        realMs: 20_000,
      })
      expect(lastApps()[0]).toMatchObject({ appId: counter.appId, state: 'running', restarts: 0 })
      expect(host.counts().workers).toBe(1)
      await h.drive(agent.stop({ drainMs: 30_000 }))
      expect(host.counts().workers).toBe(0) // stopping the app ended its worker
    }
    expect(apps.downloads).toEqual([counter.appId])
    expect(await readdir(join(dir, 'apps'))).toEqual([`${counter.sha256}.wasm`])
    const counters = h.server.records.filter((r) => 'counter' in r).map((r) => r.counter)
    expect(counters.slice(0, 3)).toEqual([1, 2, 3]) // each run's instance starts from its own state
    expect(counters.length).toBeGreaterThanOrEqual(6)
  })
})
