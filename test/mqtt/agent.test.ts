// The device agent with --transport mqtt against a real Mosquitto and the real `edgewatch serve
// --mqtt`: agents enrol over HTTP and publish their batches to the broker, which the server takes
// from its persistent session. Whatever happens (the server killed mid-stream, the broker down for a
// while), every record an agent counted as acknowledged is stored exactly once, and nothing it read
// is lost. The broker keeps its sessions on disk so that a restart of it loses nothing it had taken.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Agent } from '../../firmware/agent/agent.js'
import type { Sensor } from '../../firmware/agent/ports.js'
import type { AgentEvent, ServerAnomaly } from '../../firmware/agent/stats.js'
import { createNodeAgent } from '../../firmware/node/agent.js'
import { mqttPublisher } from '../../firmware/node/mqtt-publisher.js'
import { projectRoot } from '../../kernels/node.js'
import { freePort } from '../runtimes.js'
import { type ServerProcess, startServer } from '../server-process.js'
import { BROKER_PASSWORD, type Broker, mosquittoInstalled, startBroker } from './broker.js'

const ADMIN = 'mqtt-agent-admin-token-1'
const INGEST = 'mqtt-agent-ingest-token-1'
/** A spike at this reading, after a steady start, so that the server finds an anomaly. */
const SPIKE_AT = 300

describe.runIf(mosquittoInstalled() || Boolean(process.env.CI))(
  'agents over MQTT, real broker and server',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgewatch-mqtt-agent-'))
    let brokerPort: number
    let broker: Broker | null = null
    const servers: ServerProcess[] = []
    const agents: Agent[] = []

    const startOurBroker = async () => {
      broker = await startBroker({ port: brokerPort, persistenceDir: join(dir, 'broker') })
      return broker
    }

    beforeAll(async () => {
      brokerPort = await freePort()
      mkdirSync(join(dir, 'broker'))
      await startOurBroker()
    })
    afterAll(async () => {
      for (const a of agents) await a.stop({ goodbye: false }).catch(() => {})
      for (const s of servers) if (s.child.exitCode === null) await s.stop('SIGKILL')
      await broker?.stop()
      rmSync(dir, { recursive: true, force: true })
    })

    /** `edgewatch serve --mqtt` on `port`, subscribed (its log says so). */
    async function serve(name: string, port: number): Promise<ServerProcess> {
      const server = await startServer({
        PORT: String(port),
        EDGEWATCH_DATA_DIR: join(dir, name),
        EDGEWATCH_MQTT_URL: broker!.url,
        EDGEWATCH_MQTT_CLIENT_ID: `edgewatch-${name}`,
        EDGEWATCH_ADMIN_TOKEN: ADMIN,
        EDGEWATCH_INGEST_TOKEN: INGEST,
      })
      servers.push(server)
      await expect
        .poll(() => server.stdout().includes('"msg":"mqtt subscribed"'), { timeout: 20_000 })
        .toBe(true)
      return server
    }

    async function enrolmentToken(server: ServerProcess): Promise<string> {
      const res = await fetch(`${server.url}/v1/fleet/enrolment-tokens`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ maxUses: 100 }),
      })
      expect(res.status).toBe(201)
      return ((await res.json()) as { token: string }).token
    }

    /** Steady readings that count (`n`), with one spike. */
    const sensor = (): Sensor => {
      let n = 0
      return {
        kind: 'counter',
        channels: () => ['n', 'temp'],
        read: () => {
          n += 1
          return { n, temp: n === SPIKE_AT ? 95 : 40 + (n % 7) / 10 }
        },
      }
    }

    interface Device {
      agent: Agent
      events: AgentEvent[]
      anomalies: ServerAnomaly[]
    }

    async function device(server: ServerProcess, token: string, name: string): Promise<Device> {
      const events: AgentEvent[] = []
      const anomalies: ServerAnomaly[] = []
      const agent = await createNodeAgent({
        server: server.url,
        enrolmentToken: token,
        name,
        sensor: sensor(),
        stateDir: join(dir, 'devices', name),
        durable: false,
        appHost: null,
        rateHz: 100,
        batchMs: 100,
        agentVersion: 'test',
        publisher: mqttPublisher({
          url: broker!.url,
          connectTimeoutMs: 2000,
          onAnomaly: (a) => anomalies.push(a),
        }),
        backoff: { baseMs: 100, capMs: 2000 },
        // The first heartbeat within 0.2 s (default: a random phase of up to 5 s).
        heartbeatSpreadMs: 200,
        onEvent: (e) => events.push(e),
      })
      agents.push(agent)
      await agent.start()
      return { agent, events, anomalies }
    }

    /** Each device's stored records by `n` (by `ts` for a sensor without it), and how many times each is stored. */
    async function stored(server: ServerProcess): Promise<Map<string, Map<number, number>>> {
      const res = await fetch(`${server.url}/v1/export?order=arrival`, {
        headers: { Authorization: `Bearer ${ADMIN}` },
      })
      expect(res.status).toBe(200)
      const lines = (await res.text()).trim().split('\n')
      expect(JSON.parse(lines.pop()!)).toMatchObject({ export: { complete: true } })
      const byDevice = new Map<string, Map<number, number>>()
      for (const line of lines) {
        const r = JSON.parse(line) as { deviceId: string; n?: number; ts: string }
        const key = r.n ?? Date.parse(r.ts)
        const counts = byDevice.get(r.deviceId) ?? new Map<number, number>()
        counts.set(key, (counts.get(key) ?? 0) + 1)
        byDevice.set(r.deviceId, counts)
      }
      return byDevice
    }

    /**
     * Stops the devices with their outboxes drained, then waits until the server holds every record
     * they read (the broker acknowledged them before the server committed them): none lost, none twice.
     */
    async function expectEveryRecordOnce(server: ServerProcess, devices: Device[]): Promise<void> {
      await Promise.all(devices.map((d) => d.agent.stop({ goodbye: false, drainMs: 30_000 })))
      const expected = devices.map((d) => {
        const s = d.agent.stats()
        expect(s.outboxDepth, 'the outbox drained').toBe(0)
        expect(s.recordsAcked).toBe(s.readings)
        return { id: s.deviceId!, readings: s.readings }
      })
      let byDevice = new Map<string, Map<number, number>>()
      const complete = () => expected.every((e) => (byDevice.get(e.id)?.size ?? 0) >= e.readings)
      const deadline = Date.now() + 30_000
      while (!complete() && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200))
        byDevice = await stored(server)
      }
      for (const e of expected) {
        const counts = byDevice.get(e.id) ?? new Map<number, number>()
        const missing = Array.from({ length: e.readings }, (_, i) => i + 1).filter((n) => !counts.has(n))
        const twice = [...counts].filter(([, c]) => c > 1).map(([n]) => n)
        expect(missing, `records of ${e.id} lost`).toEqual([])
        expect(twice, `records of ${e.id} stored twice`).toEqual([])
        expect(counts.size).toBe(e.readings)
      }
    }

    it('agents publish their batches; the server stores them all once and its verdicts reach the device', async () => {
      const server = await serve('plain', await freePort())
      const token = await enrolmentToken(server)
      const devices = await Promise.all(['mqtt-a', 'mqtt-b', 'mqtt-c'].map((n) => device(server, token, n)))
      await expect
        .poll(() => devices.every((d) => d.agent.stats().recordsAcked > SPIKE_AT + 100), { timeout: 30_000 })
        .toBe(true)
      // The spike's verdict comes back on edgewatch/<id>/anomalies.
      await expect
        .poll(() => devices.every((d) => d.anomalies.some((a) => a.metric === 'temp' && a.value === 95)), {
          timeout: 20_000,
        })
        .toBe(true)
      // Heartbeats still go to the server over HTTP: the devices are connected there.
      expect(devices.every((d) => d.agent.stats().heartbeats > 0)).toBe(true)
      await expectEveryRecordOnce(server, devices)
      await server.stop()
    }, 90_000)

    it('the server killed (SIGKILL) mid-stream and restarted: every acknowledged record stored once', async () => {
      const port = await freePort()
      const first = await serve('crash', port)
      const token = await enrolmentToken(first)
      const devices = await Promise.all(['crash-a', 'crash-b'].map((n) => device(first, token, n)))
      const ingested = () => first.stdout().split('"/v1/ingest"').length - 1
      await expect.poll(ingested, { timeout: 30_000 }).toBeGreaterThan(20)
      await first.stop('SIGKILL')
      const ackedAtKill = devices.map((d) => d.agent.stats().recordsAcked)
      // The devices go on publishing: the broker keeps their batches in the server's session.
      await new Promise((r) => setTimeout(r, 1500))
      expect(devices.map((d) => d.agent.stats().recordsAcked).every((n, i) => n > ackedAtKill[i]!)).toBe(true)
      const again = await serve('crash', port)
      await expectEveryRecordOnce(again, devices)
      await again.stop()
    }, 90_000)

    it('the broker down for a while: the agents keep what they read, retry with backoff, and deliver it all once', async () => {
      const server = await serve('outage', await freePort())
      const token = await enrolmentToken(server)
      const devices = await Promise.all(['outage-a', 'outage-b'].map((n) => device(server, token, n)))
      await expect
        .poll(() => devices.every((d) => d.agent.stats().recordsAcked > 100), { timeout: 30_000 })
        .toBe(true)
      await broker!.stop()
      const retriesBefore = devices.map((d) => d.events.filter((e) => e.type === 'retry').length)
      await new Promise((r) => setTimeout(r, 3000))
      for (const [i, d] of devices.entries()) {
        const s = d.agent.stats()
        // (Not its status: a heartbeat, over HTTP, may have reached the server meanwhile.)
        expect(s.lastError?.code).toBe('network')
        expect(s.outboxDepth, 'batches kept while the broker is away').toBeGreaterThan(5)
        const retries = d.events
          .filter((e) => e.type === 'retry' && e.what === 'ingest')
          .slice(retriesBefore[i])
        // A few tries in 3 s, not one per batch or per 100 ms: the waits grow (full jitter under a
        // ceiling that doubles from 100 ms to 2 s).
        expect(retries.length).toBeGreaterThan(1)
        expect(retries.length).toBeLessThan(25)
      }
      await startOurBroker()
      await expectEveryRecordOnce(server, devices)
      await server.stop()
    }, 90_000)

    it('edgewatch device --transport mqtt: wrong credentials say so and keep the readings; the right ones deliver them', async () => {
      const server = await serve('cli', await freePort())
      const token = await enrolmentToken(server)
      const state = join(dir, 'cli-device')
      const url = new URL(broker!.url)
      url.password = 'not-the-password'
      const args = [
        'device',
        '--server',
        server.url,
        '--enrol',
        token,
        '--name',
        'cli-mqtt',
        '--state-dir',
        state,
      ]
      const refused = await runDevice(
        [...args, '--rate', '20', '--batch-ms', '100', '--transport', 'mqtt', '--mqtt', url.href],
        3000,
      )
      expect(refused.code, refused.stderr).toBe(0)
      expect(refused.stderr).toContain('broker_refused: mqtt://127.0.0.1')
      expect(refused.stderr).toMatch(
        /refused the connection: Not authorized \(check the user name and password of --mqtt\)/,
      )
      const queued = /: (\d+) readings, 0 acknowledged, (\d+) batches still queued/.exec(refused.stderr)
      expect(queued, refused.stderr).not.toBeNull()
      expect(Number(queued![2])).toBeGreaterThan(0)
      // The password from the flag wins over the URL's: the same device delivers what it kept.
      const delivered = await runDevice(
        [
          ...args,
          '--rate',
          '20',
          '--batch-ms',
          '100',
          '--mqtt',
          url.href,
          '--mqtt-password',
          BROKER_PASSWORD,
        ],
        2500,
      )
      expect(delivered.code, delivered.stderr).toBe(0)
      expect(delivered.stderr).toMatch(/, 0 batches still queued/)
      const readings = Number(queued![1]) + Number(/: (\d+) readings/.exec(delivered.stderr)![1])
      const id = /(dev-\S+): \d+ readings/.exec(delivered.stderr)![1]!
      await expect
        .poll(async () => (await stored(server)).get(id)?.size ?? 0, { timeout: 20_000 })
        .toBe(readings)
      await server.stop()
    }, 60_000)
  },
)

/** `edgewatch device ...` as a user runs it, stopped with SIGTERM after `ms`. */
function runDevice(args: string[], ms: number) {
  const child = spawn(process.execPath, [join(projectRoot(), 'bin', 'edgewatch.js'), ...args], {
    env: { ...process.env, EDGEWATCH_MQTT_URL: '' },
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d
  })
  setTimeout(() => child.kill('SIGTERM'), ms)
  return new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr })),
  )
}
