// `edgewatch device` runs one device agent (state kept in a directory, so a restart is the same
// device; its batches over HTTP, or to an MQTT broker with --transport mqtt), and `edgewatch simulate` runs a simulated fleet of them in this process and reports what
// it measured; with an admin token it also checks the server's side (records stored, faults found).

import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { ServerAnomaly } from '../../firmware/agent/stats.js'
import { createNodeAgent } from '../../firmware/node/agent.js'
import { type MqttPublisherOptions, mqttPublisher } from '../../firmware/node/mqtt-publisher.js'
import {
  type Progress,
  type SimulationOptions,
  type SimulationResult,
  simulate,
} from '../../firmware/node/simulator.js'
import { createEnvironment, createPump, parseTime, withFaults } from '../../firmware/sensors/index.js'
import { ConfigError, parseMqtt } from '../config.js'
import { clean } from './fleet/format.js'

const AGENT_VERSION = '0.1.0'

function duration(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback
  try {
    return parseTime(text)
  } catch {
    throw new ConfigError(`${flag} must be a duration such as 60s, 5m or 500ms; got ${JSON.stringify(text)}`)
  }
}

function positive(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!(n > 0) || !Number.isFinite(n))
    throw new ConfigError(`${flag} must be a positive number; got ${JSON.stringify(text)}`)
  return n
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new ConfigError(`${flag} is required`)
  return value
}

export async function deviceCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      server: { type: 'string' },
      enrol: { type: 'string' },
      name: { type: 'string' },
      'state-dir': { type: 'string' },
      sensor: { type: 'string' },
      rate: { type: 'string' },
      'batch-ms': { type: 'string' },
      seed: { type: 'string' },
      transport: { type: 'string' },
      mqtt: { type: 'string' },
      'mqtt-username': { type: 'string' },
      'mqtt-password': { type: 'string' },
    },
    strict: true,
  })
  const server = required(values.server ?? process.env.EDGEWATCH_SERVER, '--server URL')
  const broker = brokerOf(values, process.env)
  const sensorKind = values.sensor ?? 'pump'
  if (sensorKind !== 'pump' && sensorKind !== 'env') throw new ConfigError('--sensor must be pump or env')
  const name = values.name ?? 'device'
  const seed = positive(values.seed, 1, '--seed')
  const sensor = withFaults(sensorKind === 'pump' ? createPump({ seed }) : createEnvironment({ seed }), {
    deviceId: name,
  })
  const agent = await createNodeAgent({
    server,
    enrolmentToken: values.enrol ?? process.env.EDGEWATCH_ENROLMENT_TOKEN ?? '',
    name,
    sensor,
    stateDir: values['state-dir'] ?? `./device-${name}`,
    rateHz: positive(values.rate, 1, '--rate'),
    batchMs: positive(values['batch-ms'], 5000, '--batch-ms'),
    agentVersion: AGENT_VERSION,
    ...(broker ? { publisher: mqttPublisher({ ...broker, onAnomaly: printAnomaly }) } : {}),
    onEvent: (e) => {
      if (e.type === 'anomalies') for (const a of e.anomalies) printAnomaly(a)
      else if (e.type === 'enrolled') process.stderr.write(`enrolled as ${e.deviceId}\n`)
      else if (e.type === 'status') process.stderr.write(`status: ${e.status}\n`)
      else if (e.type === 'error') process.stderr.write(`${e.code}: ${e.message}\n`)
      else if (e.type === 'revoked') process.stderr.write('revoked by the server: stopping\n')
      else if (e.type === 'app')
        process.stderr.write(
          `app ${clean(e.name)} ${clean(e.version)}: ${e.state}${e.reason ? ` (${clean(e.reason)})` : ''}\n`,
        )
      else if (e.type === 'app-log') process.stderr.write(`app ${clean(e.name)} log: ${clean(e.message)}\n`)
    },
  })
  await agent.start()
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
    void agent.done.then(resolve)
  })
  await agent.stop({ goodbye: true, drainMs: 5000 })
  const s = agent.stats()
  process.stderr.write(
    `${s.deviceId ?? 'not enrolled'}: ${s.readings} readings, ${s.recordsAcked} acknowledged, ${s.outboxDepth} batches still queued\n`,
  )
  return s.status === 'revoked' ? 1 : 0
}

/**
 * The broker of --transport mqtt: --mqtt URL (or EDGEWATCH_MQTT_URL), its credentials from the URL
 * or --mqtt-username and --mqtt-password; null for HTTP. `--mqtt` alone means --transport mqtt.
 */
export function brokerOf(
  values: { transport?: string; mqtt?: string; 'mqtt-username'?: string; 'mqtt-password'?: string },
  env: Record<string, string | undefined>,
): MqttPublisherOptions | null {
  const transport = values.transport ?? (values.mqtt === undefined ? 'http' : 'mqtt')
  if (transport !== 'http' && transport !== 'mqtt')
    throw new ConfigError(`--transport must be http or mqtt; got ${JSON.stringify(transport.slice(0, 40))}`)
  const credentials = values['mqtt-username'] !== undefined || values['mqtt-password'] !== undefined
  if (transport === 'http') {
    if (values.mqtt !== undefined || credentials)
      throw new ConfigError('--mqtt, --mqtt-username and --mqtt-password go with --transport mqtt')
    return null
  }
  const url = values.mqtt ?? env.EDGEWATCH_MQTT_URL
  if (!url?.trim()) throw new ConfigError('--transport mqtt needs --mqtt URL (or EDGEWATCH_MQTT_URL)')
  // The server's own check of a broker URL (mqtt, mqtts, ws or wss, with a host), worded for the flag.
  let config: { url: string }
  try {
    config = parseMqtt({ EDGEWATCH_MQTT_URL: url })!
  } catch (e) {
    const name = values.mqtt === undefined ? 'EDGEWATCH_MQTT_URL' : '--mqtt'
    throw new ConfigError((e as Error).message.replace('EDGEWATCH_MQTT_URL', name))
  }
  return {
    url: config.url,
    ...(values['mqtt-username'] === undefined ? {} : { username: values['mqtt-username'] }),
    ...(values['mqtt-password'] === undefined ? {} : { password: values['mqtt-password'] }),
  }
}

/** One line per anomaly the server found in this device's records. */
function printAnomaly(a: ServerAnomaly): void {
  const what = a.metric === null ? '' : ` ${clean(a.metric)}=${a.value ?? '?'}`
  process.stderr.write(`anomaly ${clean(a.kind)}${what} at ${clean(a.ts)}\n`)
}

export async function simulateCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      server: { type: 'string' },
      enrol: { type: 'string' },
      devices: { type: 'string' },
      rate: { type: 'string' },
      'batch-ms': { type: 'string' },
      duration: { type: 'string' },
      drain: { type: 'string' },
      faults: { type: 'string' },
      'labels-out': { type: 'string' },
      gateway: { type: 'string' },
      sensor: { type: 'string' },
      'state-dir': { type: 'string' },
      wave: { type: 'string' },
      seed: { type: 'string' },
      'admin-token': { type: 'string' },
    },
    strict: true,
  })
  const server = required(values.server ?? process.env.EDGEWATCH_SERVER, '--server URL')
  const sensor = values.sensor ?? 'pump'
  if (sensor !== 'pump' && sensor !== 'env' && sensor !== 'mixed')
    throw new ConfigError('--sensor must be pump, env or mixed')
  const adminToken = values['admin-token'] ?? process.env.EDGEWATCH_ADMIN_TOKEN
  const live = process.stderr.isTTY
  let serverConnected: number | undefined
  let anomalies: number | undefined
  let last = { at: 0, acked: 0 }
  const onProgress = (p: Progress) => {
    const rate = p.elapsedS > last.at ? (p.recordsAcked - last.acked) / (p.elapsedS - last.at) : 0
    last = { at: p.elapsedS, acked: p.recordsAcked }
    const line =
      `${p.phase} ${p.elapsedS.toFixed(0)} s: ${p.enrolled} enrolled, ${p.connected} connected, ` +
      `${Math.round(rate)} records/s, ${p.recordsAcked} acked, ${p.queued} batches queued, ` +
      `${p.retries} retries${anomalies === undefined ? '' : `, ${anomalies} anomalies`}`
    process.stderr.write(live ? `\r${line}\u001b[K` : `${line}\n`)
  }
  const options: SimulationOptions = {
    server,
    enrolmentToken: required(values.enrol ?? process.env.EDGEWATCH_ENROLMENT_TOKEN, '--enrol TOKEN'),
    devices: Math.floor(positive(values.devices, 10, '--devices')),
    rateHz: positive(values.rate, 1, '--rate'),
    batchMs: positive(values['batch-ms'], 1000, '--batch-ms'),
    durationMs: duration(values.duration, 60_000, '--duration'),
    drainMs: duration(values.drain, 30_000, '--drain'),
    sensor,
    faults: values.faults,
    gateway: values.gateway === undefined ? undefined : Math.floor(positive(values.gateway, 1, '--gateway')),
    stateDir: values['state-dir'],
    wave: Math.floor(positive(values.wave, 200, '--wave')),
    seed: Math.floor(positive(values.seed, 1, '--seed')),
    agentVersion: AGENT_VERSION,
    onProgress,
    // Ctrl-C (or SIGTERM) ends the run early: the devices stop, drain, and the result is printed.
    // A second one quits at once.
    stopEarly: new Promise<void>((resolve) => {
      let asked = false
      const onSignal = () => {
        if (asked) process.exit(130)
        asked = true
        process.stderr.write(
          '\nstopping: the devices drain their outboxes (press Ctrl-C again to quit now)\n',
        )
        resolve()
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
    }),
    beforeStop: adminToken
      ? async () => {
          serverConnected = await countConnected(server, adminToken).catch(() => undefined)
        }
      : undefined,
  }
  // Anomalies found so far, from the server's /metrics (open to all), every few seconds.
  const watchAnomalies = setInterval(() => {
    void anomaliesFound(server).then((n) => {
      anomalies = n
    })
  }, 5000)
  let result: SimulationResult
  try {
    result = await simulate(options)
  } finally {
    clearInterval(watchAnomalies)
  }
  if (live) process.stderr.write('\n')
  if (values['labels-out']) writeFileSync(values['labels-out'], JSON.stringify(result.labels, null, 2) + '\n')
  const checked = adminToken
    ? { serverConnected, ...(await serverSide(server, adminToken, result)) }
    : undefined
  const { labels, deviceIds: _, ...figures } = result
  process.stdout.write(
    JSON.stringify({ ...figures, faultsInjected: labels.length, ...(checked ?? {}) }) + '\n',
  )
  return result.recordsLost === 0 && (checked?.recordsStored ?? result.recordsAcked) === result.recordsAcked
    ? 0
    : 1
}

/** The anomalies the server has found since it started (sum of edgewatch_anomalies_total), or undefined. */
async function anomaliesFound(server: string): Promise<number | undefined> {
  try {
    const text = await (
      await fetch(new URL('/metrics', server), { signal: AbortSignal.timeout(5000) })
    ).text()
    let n = 0
    for (const m of text.matchAll(/^edgewatch_anomalies_total(?:\{[^}]*\})? (\d+)$/gm)) n += Number(m[1])
    return n
  } catch {
    return undefined
  }
}

/** Devices the server counts as connected (all of them, not only this simulation's). */
async function countConnected(server: string, token: string): Promise<number> {
  let n = 0
  let cursor: string | null = null
  do {
    const res = await fetch(
      new URL(
        `/v1/devices?status=connected&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        server,
      ),
      { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) },
    )
    const page = (await res.json()) as { items: unknown[]; next: string | null }
    n += page.items.length
    cursor = page.next
  } while (cursor)
  return n
}

/** What the server holds for the simulated devices, and which injected faults it flagged. */
async function serverSide(server: string, token: string, r: SimulationResult) {
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(new URL(path, server), {
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(60_000),
    })
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`)
    return (await res.json()) as T
  }
  const ids = new Set(Object.values(r.deviceIds))
  let recordsStored = 0
  let cursor: string | null = null
  do {
    const page: { items: { deviceId: string; recordCount: number }[]; next: string | null } = await get(
      `/v1/devices?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    )
    for (const d of page.items) if (ids.has(d.deviceId)) recordsStored += d.recordCount
    cursor = page.next
  } while (cursor)
  let faultsDetected = 0
  for (const label of r.labels) {
    // A fault counts as found when its device has an anomaly on one of the fault's channels while
    // the fault lasts, or within a minute of its end (detectors flag a return to normal too).
    const q = `/v1/anomalies?deviceId=${encodeURIComponent(label.deviceId)}&since=${label.start}&until=${label.end + 60_000}&limit=1000`
    const found = await get<{ items: { metric: string | null }[] }>(q)
    if (found.items.some((a) => a.metric !== null && label.sensors.includes(a.metric))) faultsDetected++
  }
  return { recordsStored, faultsDetected }
}
