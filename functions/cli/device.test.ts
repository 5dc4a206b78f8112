// `edgewatch device` and `edgewatch simulate` as a user runs them, against the real server.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectRoot } from '../../kernels/node.js'
import { type ServerProcess, startServer } from '../../test/server-process.js'
import { ConfigError } from '../config.js'
import { brokerOf } from './device.js'

const ADMIN = 'cli-device-admin-token'
const dir = mkdtempSync(join(tmpdir(), 'edgewatch-cli-device-'))
let server: ServerProcess
let token: string

beforeAll(async () => {
  server = await startServer({
    EDGEWATCH_DATA_DIR: join(dir, 'data'),
    EDGEWATCH_ADMIN_TOKEN: ADMIN,
    EDGEWATCH_INGEST_TOKEN: 'cli-device-ingest-token',
    EDGEWATCH_HEARTBEAT_INTERVAL: '1s',
    EDGEWATCH_HEARTBEAT_TIMEOUT: '5s',
  })
  const res = await fetch(`${server.url}/v1/fleet/enrolment-tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ maxUses: 100 }),
  })
  token = ((await res.json()) as { token: string }).token
}, 60_000)
afterAll(async () => {
  await server?.stop('SIGTERM')
  rmSync(dir, { recursive: true, force: true })
})

/** Runs the command; resolves with its exit code and output. */
function run(args: string[], stopAfterMs?: number) {
  const child = spawn(process.execPath, [join(projectRoot(), 'bin', 'edgewatch.js'), ...args], {
    env: { ...process.env, EDGEWATCH_ADMIN_TOKEN: '' },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => {
    stdout += d
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d
  })
  if (stopAfterMs) setTimeout(() => child.kill('SIGTERM'), stopAfterMs)
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  )
}

describe('edgewatch simulate', () => {
  it('runs a fleet behind gateways with faults, and accounts for every record', async () => {
    const labels = join(dir, 'labels.json')
    const r = await run([
      'simulate',
      ...['--server', server.url, '--enrol', token, '--devices', '12', '--gateway', '5'],
      ...[
        '--rate',
        '5',
        '--batch-ms',
        '400',
        '--duration',
        '3s',
        '--faults',
        'sim-00001:valve@1s+1s, 25%:spike@2s',
      ],
      ...['--labels-out', labels, '--admin-token', ADMIN, '--seed', '3'],
    ])
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>
    expect(out).toMatchObject({
      devices: 12,
      enrolled: 12,
      connected: 12,
      serverConnected: 12,
      recordsLost: 0,
    })
    expect(out.recordsAcked).toBe(out.readings)
    expect(out.recordsStored).toBe(out.recordsAcked)
    expect(out.readings).toBeGreaterThan(12 * 5 * 2)
    const written = JSON.parse(readFileSync(labels, 'utf8')) as { deviceId: string; kind: string }[]
    expect(written).toHaveLength(out.faultsInjected!)
    expect(written.map((l) => l.kind).sort()).toEqual(['spike', 'spike', 'spike', 'valve'])
    expect(written.every((l) => l.deviceId.startsWith('dev-'))).toBe(true)
  }, 60_000)

  it('refuses a bad fault spec and bad flags clearly', async () => {
    const r = await run(['simulate', '--server', server.url, '--enrol', token, '--faults', 'sim-1:melt@1s'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/unknown fault kind "melt"/)
    const bad = await run(['simulate', '--server', server.url, '--enrol', token, '--devices', 'many'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--devices must be a positive number/)
  }, 60_000)
})

describe('edgewatch device', () => {
  it('enrols once, keeps its identity in the state dir, and comes back as the same device', async () => {
    const state = join(dir, 'device-state')
    const args = [
      'device',
      '--server',
      server.url,
      '--enrol',
      token,
      '--name',
      'cli-pump',
      '--state-dir',
      state,
    ]
    const first = await run([...args, '--rate', '5', '--batch-ms', '200'], 2500)
    expect(first.code, first.stderr).toBe(0)
    const id = /enrolled as (dev-\S+)/.exec(first.stderr)?.[1]
    expect(id).toBeDefined()
    expect(existsSync(state)).toBe(true)
    const second = await run([...args, '--rate', '5', '--batch-ms', '200'], 2000)
    expect(second.code, second.stderr).toBe(0)
    expect(second.stderr).toContain(id!)
    const devices = (await (
      await fetch(`${server.url}/v1/devices?status=disconnected`, {
        headers: { Authorization: `Bearer ${ADMIN}` },
      })
    ).json()) as { items: { deviceId: string; name: string; recordCount: number }[] }
    const mine = devices.items.filter((d) => d.name === 'cli-pump')
    expect(mine.map((d) => d.deviceId)).toEqual([id])
    expect(mine[0]!.recordCount).toBeGreaterThan(10)
  }, 60_000)
})

describe('edgewatch device --transport', () => {
  it('takes the broker from --mqtt or EDGEWATCH_MQTT_URL, the flags credentials over the URL ones', () => {
    expect(brokerOf({}, { EDGEWATCH_MQTT_URL: 'mqtt://u:p@b:1883' })).toBeNull()
    expect(brokerOf({ transport: 'mqtt' }, { EDGEWATCH_MQTT_URL: 'mqtt://u:p@b:1883' })).toEqual({
      url: 'mqtt://u:p@b:1883',
    })
    // --mqtt alone means MQTT.
    expect(brokerOf({ mqtt: 'mqtts://b', 'mqtt-username': 'dev', 'mqtt-password': 's3' }, {})).toEqual({
      url: 'mqtts://b',
      username: 'dev',
      password: 's3',
    })
    expect(() => brokerOf({ transport: 'mqtt' }, {})).toThrow(/--transport mqtt needs --mqtt URL/)
    expect(() => brokerOf({ transport: 'pigeon' }, {})).toThrow(/--transport must be http or mqtt/)
    expect(() => brokerOf({ transport: 'http', mqtt: 'mqtt://b' }, {})).toThrow(/go with --transport mqtt/)
    expect(() => brokerOf({ mqtt: 'http://b' }, {})).toThrow(/^--mqtt must be a broker URL/)
    expect(() => brokerOf({ transport: 'mqtt' }, { EDGEWATCH_MQTT_URL: 'b:1883' })).toThrow(
      /^EDGEWATCH_MQTT_URL must be a broker URL/,
    )
  })

  it('answers any flags with a broker or a ConfigError, nothing else', () => {
    const text = fc.option(fc.oneof(fc.string(), fc.webUrl(), fc.constantFrom('mqtt', 'http', 'mqtt://')), {
      nil: undefined,
    })
    fc.assert(
      fc.property(text, text, text, text, text, (transport, mqtt, username, password, env) => {
        const values = { transport, mqtt, 'mqtt-username': username, 'mqtt-password': password }
        try {
          const broker = brokerOf(values, { EDGEWATCH_MQTT_URL: env })
          if (broker) expect(['mqtt:', 'mqtts:', 'ws:', 'wss:']).toContain(new URL(broker.url).protocol)
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError)
        }
      }),
    )
  })

  it('refuses a bad transport before it starts, with exit code 2', async () => {
    const r = await run(['device', '--server', server.url, '--enrol', token, '--transport', 'pigeon'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--transport must be http or mqtt; got "pigeon"/)
  }, 30_000)
})
