// The agent's batches over MQTT on Node (the BatchPublisher port, firmware/agent/publisher.ts), with
// MQTT.js: each batch is one QoS 1 message on edgewatch/<deviceId>/telemetry, and publish() resolves
// on its PUBACK, so a batch leaves the outbox only once the broker has it. Not on a PUBACK that says
// the broker has no subscriber for the topic: it drops such a message, so the batch is kept.
//
// MQTT 5 with a clean session, and no reconnection of MQTT.js's own: a publish finds the connection
// down, tries to connect once, and fails with a PublishError when it cannot; the agent's sender then
// waits its jittered exponential backoff (0.5 s to 30 s) before the next try. So an unreachable
// broker is retried with backoff, not every second by many devices at once. A connection that
// closes while a message waits for its PUBACK fails that publish: the batch is published again on
// the next connection, the same payload on the same topic, which edgewatch recognises (its
// Idempotency-Key is their SHA-256) and does not store twice.
//
// With `onAnomaly`, the connection also subscribes to edgewatch/<deviceId>/anomalies, where the
// server publishes the anomalies that the device's records raised (QoS 0: those published while the
// device is not connected are not kept for it).
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { BatchPublisher } from '../agent/publisher.js'
import { PublishError } from '../agent/publisher.js'
import type { ServerAnomaly } from '../agent/stats.js'
import { anomaliesTopic, anomalyOf, isTopicLevel, telemetryPayload, telemetryTopic } from './mqtt-messages.js'

export interface MqttPublisherOptions {
  /** mqtt://user:pass@host:1883 (also mqtts://, ws://, wss://). */
  url: string
  /** Override the URL's credentials. */
  username?: string
  password?: string
  /** Give up on a connection attempt after this long (default 10 s). */
  connectTimeoutMs?: number
  /** Give up on a PUBACK after this long, and drop the connection (default 30 s, as HTTP requests). */
  ackTimeoutMs?: number
  /** The server's verdicts on this device's records, as they come. */
  onAnomaly?: (anomaly: ServerAnomaly) => void
}

interface Connection {
  client: MqttClient
  deviceId: string
  /** Fails every publish waiting for a PUBACK on this connection. */
  failures: Set<(error: Error) => void>
  /** Message ids whose PUBACK said "no matching subscribers" (MQTT.js reports those as success). */
  unheard: Set<number>
  ended: boolean
}

/**
 * MQTT 5 PUBACK reason 0x10: the broker accepted the message but nobody subscribes to its topic, so it
 * is dropped (edgewatch has never subscribed on this broker, or another topic). Not durable: the
 * batch stays in the outbox and is published again later. A broker may also just answer 0x00.
 */
const NO_MATCHING_SUBSCRIBERS = 0x10

export function mqttPublisher(o: MqttPublisherOptions): BatchPublisher {
  const url = new URL(o.url)
  const where = `${url.protocol}//${url.host}`
  // The flags win over the URL's credentials; MQTT.js would let the URL's win, so they leave it.
  const username = o.username ?? (url.username ? decodeURIComponent(url.username) : undefined)
  const password = o.password ?? (url.password ? decodeURIComponent(url.password) : undefined)
  url.username = ''
  url.password = ''
  const connectTimeoutMs = o.connectTimeoutMs ?? 10_000
  const ackTimeoutMs = o.ackTimeoutMs ?? 30_000
  let live: Connection | null = null
  let opening: Promise<Connection> | null = null
  let closed = false

  /** Ends a connection: whatever waited on it fails, and the next publish connects again. */
  const drop = (connection: Connection, error: Error) => {
    if (live === connection) live = null
    if (connection.ended) return
    connection.ended = true
    for (const fail of connection.failures) fail(error)
    connection.failures.clear()
    connection.client.end(true)
  }

  const open = (deviceId: string): Promise<Connection> =>
    new Promise((resolve, reject) => {
      const options: IClientOptions = {
        protocolVersion: 5,
        clean: true,
        reconnectPeriod: 0,
        // Ours (below) fires first, with a clearer message; MQTT.js's own is the backstop.
        connectTimeout: connectTimeoutMs + 1000,
        // One connection per device: a second agent with the same id would take it over.
        clientId: `edgewatch-agent-${deviceId}`,
        ...(username === undefined ? {} : { username }),
        ...(password === undefined ? {} : { password }),
      }
      const client = mqtt.connect(url.href, options)
      const connection: Connection = {
        client,
        deviceId,
        failures: new Set(),
        unheard: new Set(),
        ended: false,
      }
      // Seen before MQTT.js handles the PUBACK and calls the publish back.
      client.on('packetreceive', (packet) => {
        if (packet.cmd === 'puback' && packet.reasonCode === NO_MATCHING_SUBSCRIBERS)
          connection.unheard.add(packet.messageId!)
      })
      let settled = false
      const timer = setTimeout(
        () => fail(new Error(`no answer within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      )
      const fail = (e: Error) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        drop(connection, e)
        reject(connectError(where, e))
      }
      // An 'error' without a listener would throw: every error ends up here or in drop().
      client.on('error', (e) => {
        if (!settled) fail(e)
        else drop(connection, new PublishError('network', `${where}: ${e.message}`, { cause: e }))
      })
      client.on('close', () => {
        if (!settled) fail(new Error('the connection closed before the broker answered'))
        else
          drop(connection, new PublishError('network', `${where}: the connection closed before its PUBACK`))
      })
      client.once('connect', () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (o.onAnomaly) subscribeAnomalies(client, deviceId, o.onAnomaly)
        resolve(connection)
      })
    })

  const connect = async (deviceId: string): Promise<Connection> => {
    if (live && live.deviceId === deviceId && live.client.connected) return live
    if (live) drop(live, new PublishError('network', `${where}: reconnecting`))
    opening ??= open(deviceId).finally(() => {
      opening = null
    })
    const connection = await opening
    if (closed) {
      drop(connection, new PublishError('network', 'the publisher is closed'))
      throw new PublishError('network', 'the publisher is closed')
    }
    live = connection
    return connection
  }

  return {
    async publish(deviceId, batch, signal) {
      signal.throwIfAborted()
      if (closed) throw new PublishError('network', 'the publisher is closed')
      if (!isTopicLevel(deviceId))
        throw new PublishError(
          'invalid_device_id',
          `${JSON.stringify(deviceId.slice(0, 64))} cannot be a topic level`,
        )
      const connection = await connect(deviceId)
      signal.throwIfAborted()
      if (connection.ended) throw new PublishError('network', `${where}: the connection closed`)
      const topic = telemetryTopic(deviceId)
      await new Promise<void>((resolve, reject) => {
        const settle = (error?: unknown) => {
          clearTimeout(timer)
          signal.removeEventListener('abort', onAbort)
          connection.failures.delete(settle)
          if (error === undefined) resolve()
          else reject(error)
        }
        const onAbort = () => settle(signal.reason)
        const timer = setTimeout(() => {
          settle(new PublishError('network', `${where}: no PUBACK within ${ackTimeoutMs} ms`))
          // Its PUBACK may still come on this connection: start a fresh one rather than guess.
          drop(connection, new PublishError('network', `${where}: dropped after a PUBACK timeout`))
        }, ackTimeoutMs)
        signal.addEventListener('abort', onAbort, { once: true })
        connection.failures.add(settle)
        connection.client.publish(topic, telemetryPayload(batch.body), { qos: 1 }, (error, packet) => {
          if (!error && packet?.messageId !== undefined && connection.unheard.delete(packet.messageId))
            return settle(
              new PublishError(
                'no_subscriber',
                `${where} has no subscriber for ${topic}, so it kept nothing: is edgewatch serve --mqtt connected to this broker?`,
              ),
            )
          if (!error) return settle()
          const code = (error as { code?: unknown }).code
          // A PUBACK with a reason code of 0x80 or more: the broker refused this message (an ACL, a
          // quota, a size limit). Other errors: the connection went away with it.
          if (typeof code === 'number' && code >= 0x80)
            settle(
              new PublishError(
                'broker_refused',
                `${where} refused the batch on ${topic}: ${refusal(error.message)}`,
              ),
            )
          else settle(new PublishError('network', `${where}: ${error.message}`, { cause: error }))
        })
      })
    },

    async close() {
      closed = true
      if (live) drop(live, new PublishError('network', 'the publisher is closed'))
    },
  }
}

/** Why a connection could not be made, worded for the person who reads the agent's log. */
function connectError(where: string, e: Error): PublishError {
  const code = (e as { code?: unknown }).code
  if (typeof code === 'number') {
    // A CONNACK refusing us: MQTT 5 reason 0x86 is a wrong user name or password, 0x87 not authorized.
    const hint = code === 0x86 || code === 0x87 ? ' (check the user name and password of --mqtt)' : ''
    return new PublishError('broker_refused', `${where} refused the connection: ${refusal(e.message)}${hint}`)
  }
  return new PublishError('network', `${where} unreachable: ${e.message}`, { cause: e })
}

/** MQTT.js says "Connection refused: Not authorized" or "Publish error: Not authorized"; keep the reason only. */
const refusal = (message: string): string => message.replace(/^(Connection refused|Publish error):\s*/, '')

function subscribeAnomalies(client: MqttClient, deviceId: string, onAnomaly: (a: ServerAnomaly) => void) {
  const topic = anomaliesTopic(deviceId)
  client.on('message', (on, payload) => {
    if (on !== topic) return
    const anomaly = anomalyOf(payload)
    if (!anomaly) return
    try {
      onAnomaly(anomaly)
    } catch {
      // A listener's failure is not the publisher's.
    }
  })
  // Best effort: verdicts are a courtesy; a failed subscription must not fail the publishing.
  client.subscribe(topic, { qos: 0 }, () => {})
}
