// The MQTT publisher against a real Mosquitto (test/mqtt/broker.ts): what a PUBACK means, and the
// errors a device owner reads when the broker is unreachable, refuses the credentials, or goes away.
import { type AddressInfo, createServer, type Socket } from 'node:net'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BROKER_USER, type Broker, mosquittoInstalled, startBroker } from '../../test/mqtt/broker.js'
import { freePort } from '../../test/runtimes.js'
import type { SealedBatch } from '../agent/ports.js'
import { PublishError } from '../agent/publisher.js'
import type { ServerAnomaly } from '../agent/stats.js'
import { mqttPublisher } from './mqtt-publisher.js'

const run = mosquittoInstalled() || Boolean(process.env.CI)

const batch = (id: string, records: object[]): SealedBatch => ({
  id,
  createdAt: 0,
  records: records.length,
  body: `${records.map((r) => JSON.stringify(r)).join('\n')}\n`,
})

/** Rejects with what publish() rejected with (or fails the test if it resolved). */
async function failure(promise: Promise<unknown>): Promise<PublishError> {
  try {
    await promise
  } catch (e) {
    expect(e).toBeInstanceOf(PublishError)
    return e as PublishError
  }
  throw new Error('publish() resolved')
}

/** A client subscribed to `topic` on the broker at `url`. */
async function subscriber(url: string, topic: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5 })
  await client.subscribeAsync(topic, { qos: 1 })
  return client
}

describe.runIf(run)('mqttPublisher with a real Mosquitto', () => {
  let broker: Broker
  let watcher: MqttClient
  const received: { topic: string; payload: string }[] = []

  beforeAll(async () => {
    broker = await startBroker()
    watcher = await mqtt.connectAsync(broker.url, { clientId: 'publisher-test-watcher' })
    watcher.on('message', (topic, payload) => received.push({ topic, payload: String(payload) }))
    await watcher.subscribeAsync('edgewatch/+/telemetry', { qos: 1 })
  })
  afterAll(async () => {
    await watcher?.endAsync(true)
    await broker?.stop()
  })

  it('publishes a batch as one JSON array on the device topic, and resolves on its PUBACK', async () => {
    const publisher = mqttPublisher({ url: broker.url })
    try {
      const records = [
        { ts: 1, temp: 20.5 },
        { deviceId: 'dev-a', ts: 2, temp: 21 },
      ]
      await publisher.publish('dev-a', batch('b1', records), AbortSignal.timeout(10_000))
      await expect.poll(() => received.filter((m) => m.topic === 'edgewatch/dev-a/telemetry')).toHaveLength(1)
      const message = received.find((m) => m.topic === 'edgewatch/dev-a/telemetry')!
      expect(JSON.parse(message.payload)).toEqual(records)
      // The same connection serves the next batch.
      await publisher.publish('dev-a', batch('b2', [{ ts: 3 }]), AbortSignal.timeout(10_000))
      await expect.poll(() => received.filter((m) => m.topic === 'edgewatch/dev-a/telemetry')).toHaveLength(2)
    } finally {
      await publisher.close()
    }
  })

  it('refuses a device id that is not one topic level, without connecting', async () => {
    const publisher = mqttPublisher({ url: broker.url })
    for (const id of ['a/b', '+', '#', '', 'x\0y']) {
      const e = await failure(publisher.publish(id, batch('b', [{ ts: 1 }]), AbortSignal.timeout(5000)))
      expect(e.code).toBe('invalid_device_id')
    }
    await publisher.close()
  })

  it('wrong credentials: a clear broker_refused error naming the cause', async () => {
    const url = new URL(broker.url)
    url.password = 'wrong-password'
    const publisher = mqttPublisher({ url: url.href })
    const e = await failure(publisher.publish('dev-b', batch('b', [{ ts: 1 }]), AbortSignal.timeout(10_000)))
    expect(e.code).toBe('broker_refused')
    expect(e.message).toMatch(/refused the connection: (Bad User Name or Password|Not authorized)/)
    expect(e.message).toContain('check the user name and password')
    // The flags override the URL's credentials: the right password gets through.
    const fixed = mqttPublisher({ url: url.href, password: new URL(broker.url).password })
    await fixed.publish('dev-b', batch('b', [{ ts: 1 }]), AbortSignal.timeout(10_000))
    await fixed.close()
  })

  it('an unreachable broker: a network error, and publishing works once it listens', async () => {
    const port = await freePort()
    const url = new URL(broker.url)
    url.port = String(port)
    const publisher = mqttPublisher({ url: url.href, connectTimeoutMs: 3000 })
    try {
      const e = await failure(
        publisher.publish('dev-c', batch('b', [{ ts: 1 }]), AbortSignal.timeout(10_000)),
      )
      expect(e.code).toBe('network')
      expect(e.message).toMatch(/unreachable: .*ECONNREFUSED/)
      const late = await startBroker({ port })
      const listener = await subscriber(late.url, 'edgewatch/+/telemetry')
      try {
        await publisher.publish('dev-c', batch('b', [{ ts: 1 }]), AbortSignal.timeout(10_000))
      } finally {
        await listener.endAsync(true)
        await late.stop()
      }
      // The broker went away: the next publish fails at once instead of waiting for a PUBACK.
      const gone = await failure(
        publisher.publish('dev-c', batch('b2', [{ ts: 2 }]), AbortSignal.timeout(10_000)),
      )
      expect(gone.code).toBe('network')
    } finally {
      await publisher.close()
    }
  })

  it('a peer that accepts the connection but never answers: a network error after the connect timeout', async () => {
    const sockets: Socket[] = []
    const silent = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as AddressInfo
    const publisher = mqttPublisher({ url: `mqtt://127.0.0.1:${port}`, connectTimeoutMs: 300 })
    try {
      const started = Date.now()
      const e = await failure(
        publisher.publish('dev-f', batch('b', [{ ts: 1 }]), AbortSignal.timeout(10_000)),
      )
      expect(e.code).toBe('network')
      expect(e.message).toMatch(/unreachable: no answer within 300 ms/)
      expect(Date.now() - started).toBeGreaterThanOrEqual(290)
    } finally {
      await publisher.close()
      for (const s of sockets) s.destroy()
      await new Promise((r) => silent.close(r))
    }
  })

  it('a message the broker refuses (an ACL): broker_refused, naming the topic', async () => {
    const strict = await startBroker({
      acl: [`user ${BROKER_USER}`, 'topic readwrite edgewatch/dev-allowed/telemetry'],
    })
    const listener = await subscriber(strict.url, 'edgewatch/dev-allowed/telemetry')
    const publisher = mqttPublisher({ url: strict.url })
    try {
      await publisher.publish('dev-allowed', batch('b', [{ ts: 1 }]), AbortSignal.timeout(10_000))
      const e = await failure(
        publisher.publish('dev-other', batch('b', [{ ts: 1 }]), AbortSignal.timeout(10_000)),
      )
      expect(e.code).toBe('broker_refused')
      expect(e.message).toMatch(/refused the batch on edgewatch\/dev-other\/telemetry: Not authorized/)
    } finally {
      await publisher.close()
      await listener.endAsync(true)
      await strict.stop()
    }
  })

  it('a broker with no subscriber for the topic (edgewatch never connected): no_subscriber, the batch not taken', async () => {
    const empty = await startBroker()
    const publisher = mqttPublisher({ url: empty.url })
    try {
      const e = await failure(
        publisher.publish('dev-g', batch('b', [{ ts: 1 }]), AbortSignal.timeout(10_000)),
      )
      expect(e.code).toBe('no_subscriber')
      expect(e.message).toMatch(/has no subscriber for edgewatch\/dev-g\/telemetry.*edgewatch serve --mqtt/)
      // Once something subscribes (edgewatch's persistent session), the same batch is taken.
      const listener = await subscriber(empty.url, 'edgewatch/+/telemetry')
      await publisher.publish('dev-g', batch('b', [{ ts: 1 }]), AbortSignal.timeout(10_000))
      await listener.endAsync(true)
    } finally {
      await publisher.close()
      await empty.stop()
    }
  })

  it('an aborted publish rejects with the reason; a closed publisher publishes nothing', async () => {
    const publisher = mqttPublisher({ url: broker.url })
    const stop = new AbortController()
    stop.abort(new Error('stopping'))
    await expect(publisher.publish('dev-d', batch('b', [{ ts: 1 }]), stop.signal)).rejects.toThrow('stopping')
    await publisher.close()
    const e = await failure(publisher.publish('dev-d', batch('b', [{ ts: 1 }]), AbortSignal.timeout(5000)))
    expect(e.message).toContain('closed')
  })

  it("passes on the server's verdicts from the anomalies topic, and ignores what is not one", async () => {
    const anomalies: ServerAnomaly[] = []
    const publisher = mqttPublisher({ url: broker.url, onAnomaly: (a) => anomalies.push(a) })
    try {
      // Connecting (the first publish) subscribes.
      await publisher.publish('dev-e', batch('b', [{ ts: 1 }]), AbortSignal.timeout(10_000))
      const verdict = {
        deviceId: 'dev-e',
        ts: '2026-11-01T00:00:00.000Z',
        kind: 'spike',
        metric: 'temp',
        value: 95,
      }
      // The subscription is asynchronous: publish until the first verdict arrives.
      await expect
        .poll(async () => {
          await watcher.publishAsync('edgewatch/dev-e/anomalies', JSON.stringify(verdict))
          return anomalies.length
        })
        .toBeGreaterThan(0)
      const before = anomalies.length
      for (const hostile of ['not json', '[]', '{"kind":1}', 'null', '\u00ff\u00fe', 'x'.repeat(100_000)])
        await watcher.publishAsync('edgewatch/dev-e/anomalies', hostile)
      await watcher.publishAsync('edgewatch/dev-other/anomalies', JSON.stringify(verdict))
      await watcher.publishAsync('edgewatch/dev-e/anomalies', JSON.stringify({ ...verdict, kind: 'last' }))
      await expect.poll(() => anomalies.at(-1)?.kind).toBe('last')
      // Only the last one came after `before` (the others were not verdicts, or another device's).
      expect(anomalies.slice(before).filter((a) => a.kind !== 'spike')).toHaveLength(1)
      expect(anomalies[0]).toEqual({
        ts: verdict.ts,
        kind: 'spike',
        metric: 'temp',
        value: 95,
        score: 0,
        detail: null,
      })
    } finally {
      await publisher.close()
    }
  })
})
