// End to end: Wasm apps on real device agents (firmware/ on Node, each app in its own worker thread)
// against the real `edgewatch serve`. An app is pushed and deployed to a label; every device of the
// label runs it and no other device does; what it emits is stored and analysed under the device's
// own series; a bad release halts in its first batch and its device goes back to the release it ran.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../../firmware/agent/agent.js'
import { appPath } from '../../firmware/apps/build.js'
import { createNodeAgent } from '../../firmware/node/agent.js'
import { createEnvironment } from '../../firmware/sensors/index.js'
import { type ServerProcess, startServer } from '../server-process.js'

const ADMIN = 'apps-e2e-admin-token-0123'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await get()
    if (ok(v)) return v
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`)
    await sleep(250)
  }
}

interface View {
  state: string
  reason: string | null
  counts: Record<string, number>
  devices: {
    items: {
      deviceId: string
      state: string
      reason: string | null
      report: Record<string, unknown> | null
    }[]
  }
}

describe('Wasm apps on real agents against the real server', () => {
  let server: ServerProcess
  const dirs: string[] = []
  /** Three devices labelled site=e2e, then one labelled site=other. */
  const agents: Agent[] = []
  const api = async <T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${server.url}${path}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${ADMIN}`,
        'Content-Type': 'application/json',
        ...(init.headers as object),
      },
    })
    return { status: res.status, body: (await res.json()) as T }
  }
  const push = async (file: string, query: string) => {
    const res = await api<{ id: string }>(`/v1/apps?${query}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/wasm' },
      body: readFileSync(appPath(file)),
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    return res.body.id
  }
  const deploy = async (app: string, rollout: object = {}) => {
    const res = await api<{ id: string }>('/v1/deployments', {
      method: 'POST',
      body: JSON.stringify({ app, target: { labels: { site: 'e2e' } }, rollout }),
    })
    expect(res.status).toBe(201)
    return res.body.id
  }
  const view = async (id: string) => (await api<View>(`/v1/deployments/${id}`)).body
  const appsOf = (a: Agent) => a.stats().apps.map((x) => `${x.name}@${x.version}:${x.state}`)

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-apps-e2e-'))
    dirs.push(dataDir)
    server = await startServer({
      EDGEWATCH_DATA_DIR: dataDir,
      EDGEWATCH_ADMIN_TOKEN: ADMIN,
      EDGEWATCH_HEARTBEAT_INTERVAL: '1s',
      EDGEWATCH_HEARTBEAT_TIMEOUT: '5s',
    })
    for (const [site, uses] of [
      ['e2e', 3],
      ['other', 1],
    ] as const) {
      const made = await api<{ token: string }>('/v1/fleet/enrolment-tokens', {
        method: 'POST',
        body: JSON.stringify({ maxUses: uses, labels: { site } }),
      })
      for (let i = 0; i < uses; i++) {
        const stateDir = mkdtempSync(join(tmpdir(), `edgewatch-apps-agent-`))
        dirs.push(stateDir)
        agents.push(
          await createNodeAgent({
            server: server.url,
            enrolmentToken: made.body.token,
            name: `${site}-${i}`,
            sensor: createEnvironment({ seed: agents.length + 1 }),
            stateDir,
            durable: false,
            rateHz: 2,
            batchMs: 500,
            agentVersion: '0.1.0-apps-e2e',
            backoff: { capMs: 1000 },
          }),
        )
      }
    }
    for (const a of agents) await a.start()
    await until(
      'every agent beating',
      async () => agents.map((a) => a.stats().heartbeats),
      (n) => n.every((x) => x > 0),
    )
  }, 60_000)

  afterAll(async () => {
    for (const a of agents) await a.stop({ goodbye: false }).catch(() => {})
    await server?.stop('SIGTERM')
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  let v1: string

  it('deploys an app to a label: every device of it runs the app, no other device does', async () => {
    v1 = await push('well-behaved', 'name=counter&version=1.0.0&fuel=100000&tickMs=500&wallMs=200')
    const dep = await deploy(v1)
    const done = await until(
      'deployment',
      () => view(dep),
      (v) => v.state === 'succeeded',
      30_000,
    )
    expect(done.counts).toMatchObject({ running: 3, failed: 0, pending: 0 })
    for (const d of done.devices.items) {
      expect(d.state).toBe('running')
      // What the device reports about the app: ticks, fuel per tick (the same on every device), memory.
      expect(d.report).toMatchObject({ name: 'counter', version: '1.0.0', state: 'running', memoryPages: 1 })
      expect(d.report!.ticks).toBeGreaterThan(0)
    }
    const fuel = new Set(done.devices.items.map((d) => d.report!.fuelPerTick))
    expect(fuel.size).toBe(1)
    expect([...fuel][0]).toBeGreaterThan(0)
    for (const a of agents.slice(0, 3)) expect(appsOf(a)).toEqual(['counter@1.0.0:running'])
    expect(appsOf(agents[3]!)).toEqual([])
  }, 60_000)

  it("stores what the app emits under the device's own series, beside its readings", async () => {
    const id = agents[0]!.stats().deviceId!
    const series = await until(
      'the counter series',
      async () =>
        (
          await api<{ samples: number; values: { value: number }[] }>(
            `/v1/devices/${id}/series/counter?limit=50`,
          )
        ).body,
      (s) => (s.values?.length ?? 0) >= 3,
    )
    // The counter counts 1, 2, 3… on the device (oldest first here), and the detectors saw each value.
    const values = series.values.map((v) => v.value)
    expect(values).toEqual([...values].sort((a, b) => a - b))
    expect(new Set(values).size).toBe(values.length)
    expect(series.samples).toBeGreaterThanOrEqual(values.length)
    const readings = (await api<{ values: unknown[] }>(`/v1/devices/${id}/series/temperature?limit=5`)).body
    expect(readings.values.length).toBeGreaterThan(0)
    // The other device's series has no counter.
    const other = agents[3]!.stats().deviceId!
    const none = await api<{ values?: unknown[] }>(`/v1/devices/${other}/series/counter`)
    expect(none.body.values ?? []).toEqual([])
  }, 30_000)

  it('halts a bad release in its first batch and sends the device back to the release it ran', async () => {
    const bad = await push(
      'trap',
      'name=counter&version=2.0.0&fuel=100000&tickMs=200&wallMs=200&maxRestarts=0',
    )
    const dep = await deploy(bad, { batches: [1, '100%'], bake: '2s' })
    const halted = await until(
      'halt',
      () => view(dep),
      (v) => v.state === 'halted',
      30_000,
    )
    expect(halted.reason).toMatch(
      /^1 of 1 devices in batch 1 failed \(dev-\S+: abort: trap: deliberate abort after 3 ticks/,
    )
    // Back on 1.0.0 (kept by the agent), it reports running: rolled back; the others never left it.
    const back = await until(
      'rollback',
      () => view(dep),
      (v) => v.counts.rolled_back === 1,
      30_000,
    )
    expect(back.counts).toMatchObject({ rolled_back: 1, running: 0, failed: 0 })
    const first = back.devices.items.find((d) => d.state === 'rolled_back')!
    expect(first.reason).toContain('trap: deliberate abort after 3 ticks')
    await until(
      'agents on 1.0.0',
      async () => agents.slice(0, 3).map(appsOf),
      (apps) => apps.every((a) => a.length === 1 && a[0] === 'counter@1.0.0:running'),
      30_000,
    )
  }, 60_000)
})
