// MQTT input (Node only: workerd and Spin hold no long-lived broker connection). `edgewatch serve
// --mqtt URL` subscribes to EDGEWATCH_MQTT_TOPIC (edgewatch/+/telemetry) with QoS 1 and runs each
// message, one JSON record or an array, through the app's own POST /v1/ingest in process: the same
// Ingestor (group commit, analysis, limits, dead letters) as every other input, the device id taken
// from the topic's `+` segment.
//
// MQTT 5 (Mosquitto 1.6+, EMQX, HiveMQ, VerneMQ): the session never expires (sessionExpiryInterval
// 0xFFFFFFFF), so a broker keeps the messages for edgewatch while it is down.
// Ack means durable: MQTT.js's customHandleAcks holds a message's PUBACK until its ingest answers.
//   - 200 (records committed) or 400 (nothing usable; the rejections are committed as dead letters):
//     acknowledged. So is any other 4xx (too large, another device's records): it never succeeds.
//   - 5xx (commit failed, overloaded) or no answer: not acknowledged. The connection is dropped and
//     made again a second later; the broker keeps the persistent session (clean: false, a fixed
//     client id) and delivers the message again. Messages after it are not acknowledged either until
//     then, so their order is kept.
// A crash between a commit and its PUBACK makes the broker deliver a committed message again: each
// message carries an Idempotency-Key, the SHA-256 of its topic and payload (MQTT packet ids are
// reused), so the second delivery gets the first answer and stores nothing. The price: the same
// payload on the same topic twice within EDGEWATCH_IDEMPOTENCY_TTL is stored once (records with
// their own `ts` differ anyway).
// MQTT.js hands over messages one at a time and waits for each acknowledgement, so one connection
// commits one message at a time: batch records in a message, or split the load with a shared
// subscription ($share/edgewatch/edgewatch/+/telemetry) over several processes with their own ids.
// Anomalies found are published to edgewatch/<deviceId>/anomalies (QoS 0, one JSON object each; a
// redelivered message publishes its anomalies again).
import { createHash } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import type { MqttConfig } from '../config.js'

export interface MqttInputOptions {
  config: MqttConfig
  /** The app's fetch: each message becomes a POST /v1/ingest through it. */
  fetch: (request: Request) => Response | Promise<Response>
  /** An ingest token the app accepts. */
  token: string
  bodyLimitBytes: number
  /** One JSON log line. */
  log: (line: string) => void
}

export interface MqttInput {
  /** Waits for the messages being ingested to be answered (and acknowledged), then disconnects. */
  stop(): Promise<void>
}

/** The broker keeps the session (and the messages for it) while edgewatch is away: the largest value, never expire. */
const SESSION_EXPIRY_S = 0xffff_ffff

/** How long after a failed commit the connection is made again (the broker then redelivers). */
const RETRY_AFTER_MS = 1000

export function startMqttInput(o: MqttInputOptions): MqttInput {
  const { config } = o
  const pattern = subscribedPattern(config.topic)
  const deviceLevel = pattern.indexOf('+')
  const pending = new Set<Promise<void>>()
  /** Bumped when a connection opens or closes: a message from an earlier one is not acknowledged on this one. */
  let connection = 0
  /** Set when a message could not be committed: nothing more is acknowledged until the next connection. */
  let failing = false
  let stopping = false
  const log = (level: string, msg: string, fields: Record<string, unknown> = {}) =>
    o.log(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }))

  const url = new URL(config.url)
  const client: MqttClient = mqtt.connect(config.url, {
    // MQTT 5: MQTT.js holds a PUBACK for customHandleAcks only on version 5.
    protocolVersion: 5,
    clientId: config.clientId,
    clean: false,
    // The session outlives the connection (MQTT 5 ends it on disconnect unless told otherwise).
    properties: { sessionExpiryInterval: SESSION_EXPIRY_S },
    reconnectPeriod: RETRY_AFTER_MS,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    customHandleAcks: (topic, payload, _packet, ack) => {
      const from = connection
      const task = (async () => {
        const outcome = failing ? 'retry' : await handle(topic, payload).catch(unexpected)
        if (outcome === 'ack' && from === connection && !failing) return ack(0)
        if (outcome === 'retry' && !failing && from === connection) {
          failing = true
          setTimeout(() => client.stream?.destroy(), RETRY_AFTER_MS).unref()
        }
        ack(new Error('not acknowledged: the broker delivers it again'))
      })()
      pending.add(task)
      void task.finally(() => pending.delete(task))
    },
  })
  client.on('connect', (connack) => {
    connection++
    failing = false
    client.subscribe(config.topic, { qos: 1 }, (error) => {
      if (error) log('error', 'mqtt subscribe failed', { topic: config.topic, error: error.message })
      else log('info', 'mqtt subscribed', { topic: config.topic, sessionPresent: connack.sessionPresent })
    })
  })
  // QoS 0 messages (a publisher's choice) are ingested too; nothing is acknowledged for them.
  client.on('message', (topic, payload, packet) => {
    if (packet.qos !== 0) return
    const task = handle(topic, payload).then(
      () => {},
      (e: unknown) => {
        unexpected(e)
      },
    )
    pending.add(task)
    void task.finally(() => pending.delete(task))
  })
  client.on('error', (e) => {
    if (!e.message.startsWith('not acknowledged')) log('warn', 'mqtt error', { error: e.message })
  })
  // A message taken on a connection now closed is not acknowledged on the next: it comes again.
  client.on('close', () => {
    connection++
  })
  client.on('offline', () => {
    if (!stopping) log('warn', 'mqtt broker unreachable; connecting again', { broker: url.host })
  })

  const unexpected = (e: unknown): 'retry' => {
    log('error', 'mqtt message failed', { error: String((e as Error)?.stack ?? e) })
    return 'retry'
  }

  async function handle(topic: string, payload: Buffer): Promise<'ack' | 'retry'> {
    const device = deviceLevel < 0 ? undefined : topic.split('/')[deviceLevel]
    if (payload.byteLength > o.bodyLimitBytes) {
      log('warn', 'mqtt message refused: larger than the body limit', { topic, bytes: payload.byteLength })
      return 'ack'
    }
    const body = bodyFor(payload, device)
    if ('refused' in body) {
      log('warn', 'mqtt message refused', { topic, reason: body.refused })
      return 'ack'
    }
    const key = `mqtt-${createHash('sha256').update(topic).update('\0').update(payload).digest('hex')}`
    let response: Response
    let text: string
    try {
      response = await o.fetch(
        new Request('http://mqtt.internal/v1/ingest', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${o.token}`,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body: body.bytes,
        }),
      )
      text = await response.text()
    } catch (e) {
      log('error', 'mqtt message not ingested', { topic, error: (e as Error).message })
      return 'retry'
    }
    if (response.status === 200) {
      publishAnomalies(text)
      return 'ack'
    }
    if (response.status === 400) return 'ack' // its rejections are committed as dead letters
    if (response.status >= 500 || response.status === 401 || response.status === 429) {
      log('warn', 'mqtt message not committed; the broker delivers it again', {
        topic,
        status: response.status,
        error: text.slice(0, 300),
      })
      return 'retry'
    }
    log('warn', 'mqtt message refused', { topic, status: response.status, error: text.slice(0, 300) })
    return 'ack'
  }

  function publishAnomalies(answer: string): void {
    let anomalies: { deviceId?: unknown }[]
    try {
      anomalies = (JSON.parse(answer) as { anomalies?: { deviceId?: unknown }[] }).anomalies ?? []
    } catch {
      return
    }
    for (const a of anomalies) {
      if (typeof a.deviceId !== 'string' || /[/+#]/.test(a.deviceId)) continue
      client.publish(`edgewatch/${a.deviceId}/anomalies`, JSON.stringify(a), { qos: 0 })
    }
  }

  return {
    stop: async () => {
      stopping = true
      await Promise.race([
        Promise.allSettled([...pending]),
        new Promise((r) => setTimeout(r, 10_000).unref()),
      ])
      await client.endAsync()
    },
  }
}

/** The topic filter's levels as messages arrive on them: a shared subscription's $share/<group>/ removed. */
export function subscribedPattern(filter: string): string[] {
  const levels = filter.split('/')
  return levels[0] === '$share' ? levels.slice(2) : levels
}

/**
 * The message as an ingest body: each record without a deviceId gets the topic's; a record naming
 * another device refuses the message (a device's topic carries only its records). A payload that is
 * not JSON goes as it came: the ingest path answers 400 and keeps it as a dead letter.
 */
export function bodyFor(
  payload: Uint8Array,
  device: string | undefined,
): { bytes: Uint8Array<ArrayBuffer> } | { refused: string } {
  if (device === undefined) return { bytes: new Uint8Array(payload) }
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload))
  } catch {
    return { bytes: new Uint8Array(payload) }
  }
  for (const item of Array.isArray(value) ? value : [value]) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) continue
    const r = item as Record<string, unknown>
    if (r.deviceId === undefined || r.deviceId === null) r.deviceId = device
    else if (r.deviceId !== device)
      return {
        refused: `a record of ${String(r.deviceId).slice(0, 128)} on the topic of ${device.slice(0, 128)}`,
      }
  }
  return { bytes: new TextEncoder().encode(JSON.stringify(value)) }
}
