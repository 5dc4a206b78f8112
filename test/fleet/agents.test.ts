// End to end: real device agents (firmware/, on Node, with their file storage) against the real
// `edgewatch serve`, through a TCP proxy that can cut the network. They enrol, beat and send; one
// stopped without a goodbye goes unreachable after the timeout (an event and an anomaly); the
// network is cut and restored, and every reading is stored exactly once.
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../../firmware/agent/agent.js'
import { createNodeAgent } from '../../firmware/node/agent.js'
import { createPump, withFaults } from '../../firmware/sensors/index.js'
import { type ServerProcess, startServer } from '../server-process.js'

const ADMIN = 'agents-e2e-admin-token'
const INGEST = 'agents-e2e-ingest-token'

/** A TCP proxy in front of the server whose network can be cut (every connection dropped, new ones refused). */
async function cuttableProxy(target: URL) {
  const sockets = new Set<Socket>()
  let cut = false
  const server: Server = createServer((client) => {
    if (cut) return client.destroy()
    const upstream = connect(Number(target.port), target.hostname)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {})
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      cut = true
      for (const s of sockets) s.destroy()
    },
    restore() {
      cut = false
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await get()
    if (ok(v)) return v
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`)
    await sleep(200)
  }
}

describe('device agents against the real server', () => {
  let server: ServerProcess
  let proxy: Awaited<ReturnType<typeof cuttableProxy>>
  const dirs: string[] = []
  const agents: Agent[] = []
  const admin = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
    })
    return (await res.json()) as T
  }
  const device = (id: string) =>
    admin<{ status: string; recordCount: number; lastHeartbeat: string | null }>(`/v1/devices/${id}`)

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-agents-'))
    dirs.push(dataDir)
    server = await startServer({
      EDGEWATCH_DATA_DIR: dataDir,
      EDGEWATCH_ADMIN_TOKEN: ADMIN,
      EDGEWATCH_INGEST_TOKEN: INGEST,
      // Short, so that going silent shows within the test (the sweep runs every second then).
      EDGEWATCH_HEARTBEAT_INTERVAL: '1s',
      EDGEWATCH_HEARTBEAT_TIMEOUT: '4s',
    })
    proxy = await cuttableProxy(new URL(server.url))
    const { token } = await admin<{ token: string }>('/v1/fleet/enrolment-tokens', {
      method: 'POST',
      body: JSON.stringify({ maxUses: 3, labels: { test: 'e2e' } }),
    })
    for (let i = 0; i < 3; i++) {
      const stateDir = mkdtempSync(join(tmpdir(), `edgewatch-agent-${i}-`))
      dirs.push(stateDir)
      agents.push(
        await createNodeAgent({
          server: proxy.url,
          enrolmentToken: token,
          name: `e2e-${i}`,
          sensor: withFaults(createPump({ seed: i + 1 }), { deviceId: `e2e-${i}` }),
          stateDir,
          durable: false,
          rateHz: 10,
          batchMs: 200,
          agentVersion: '0.1.0-e2e',
          backoff: { capMs: 1000 },
        }),
      )
    }
    for (const a of agents) await a.start()
  }, 60_000)

  afterAll(async () => {
    for (const a of agents) await a.stop({ goodbye: false }).catch(() => {})
    await proxy?.close()
    await server?.stop('SIGTERM')
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('enrols every agent, which then beats and is connected', async () => {
    const ids = await until(
      'enrolment',
      async () => agents.map((a) => a.stats().deviceId),
      (ids) => ids.every((id) => id !== null),
    )
    for (const id of ids)
      await until(
        `${id} connected`,
        () => device(id!),
        (d) => d.status === 'connected' && d.lastHeartbeat !== null,
      )
    const listed = await admin<{ items: { labels: object; agentVersion: string }[] }>(
      '/v1/devices?label=test%3De2e',
    )
    expect(listed.items).toHaveLength(3)
    expect(listed.items.every((d) => d.agentVersion === '0.1.0-e2e')).toBe(true)
  }, 30_000)

  it('marks an agent that stops without a goodbye unreachable after the timeout, with an event and an anomaly', async () => {
    const silent = agents[2]!
    const id = silent.stats().deviceId!
    await silent.stop({ goodbye: false, drainMs: 5000 })
    await until(
      `${id} unreachable`,
      () => device(id),
      (d) => d.status === 'unreachable',
      15_000,
    )
    const events = await until(
      'the unreachable event',
      () => admin<{ items: { kind: string }[] }>(`/v1/devices/${id}/events`),
      (e) => e.items.some((x) => x.kind === 'unreachable'),
      5000,
    )
    expect(events.items.map((e) => e.kind).reverse()).toEqual(['enrolled', 'connected', 'unreachable'])
    const anomalies = await admin<{ items: { kind: string }[] }>(
      `/v1/anomalies?deviceId=${id}&kind=device_unreachable`,
    )
    expect(anomalies.items).toHaveLength(1)
    // Every reading it took is stored, once.
    expect((await device(id)).recordCount).toBe(silent.stats().readings)
  }, 30_000)

  it('loses nothing when the network is cut and restored, and stores nothing twice', async () => {
    const running = agents.slice(0, 2)
    await sleep(1000)
    proxy.cut()
    await sleep(2500)
    const queued = running.map((a) => a.stats().outboxDepth)
    expect(queued.every((n) => n > 0)).toBe(true)
    proxy.restore()
    await sleep(2000)
    for (const a of running) await a.stop({ goodbye: true, drainMs: 15_000 })
    for (const a of running) {
      const s = a.stats()
      expect(s.outboxDepth).toBe(0)
      expect(s.recordsAcked).toBe(s.readings)
      const stored = await device(s.deviceId!)
      expect(stored.recordCount).toBe(s.readings)
      expect(stored.status).toBe('disconnected')
      // One record per reading time: a retried batch was not stored again.
      const text = await (
        await fetch(`${server.url}/v1/export?deviceId=${s.deviceId}`, {
          headers: { Authorization: `Bearer ${ADMIN}` },
        })
      ).text()
      const ts = text
        .trim()
        .split('\n')
        .slice(0, -1)
        .map((l) => (JSON.parse(l) as { ts: string }).ts)
      expect(new Set(ts).size).toBe(ts.length)
      expect(ts).toHaveLength(s.readings)
      expect(s.retries).toBeGreaterThan(0)
    }
  }, 60_000)
})
