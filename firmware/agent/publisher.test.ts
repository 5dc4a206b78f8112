// The sender with a publisher (a broker instead of POST /v1/ingest), on the fake clock: a batch leaves
// the outbox only when the broker took it, a refusal is retried with backoff, and the rest of the
// agent (enrolment, heartbeats) keeps using the server. The real MQTT publisher is tested against a
// real Mosquitto in firmware/node/mqtt-publisher.test.ts and test/mqtt/agent.test.ts.
import { describe, expect, it } from 'vitest'
import type { SealedBatch } from './ports.js'
import { type BatchPublisher, PublishError } from './publisher.js'
import { harness } from './testing/harness.js'

/** A broker that refuses while `refusing` is set, and records what it took. */
function scriptedBroker() {
  const taken: { deviceId: string; batch: SealedBatch }[] = []
  const state = { refusing: true, attempts: 0, closed: 0 }
  const publisher: BatchPublisher = {
    async publish(deviceId, batch, signal) {
      signal.throwIfAborted()
      state.attempts += 1
      if (state.refusing) throw new PublishError('broker_refused', 'refused the connection: Not authorized')
      taken.push({ deviceId, batch })
    },
    async close() {
      state.closed += 1
    },
  }
  return { publisher, taken, state }
}

describe('agent with a publisher', () => {
  it('keeps batches while the broker refuses, retrying with backoff, then publishes each once in order', async () => {
    const h = harness()
    const broker = scriptedBroker()
    const agent = h.agent({ publisher: broker.publisher })
    await agent.start()
    await h.clock.runUntil(() => broker.state.attempts >= 6)

    const refusing = agent.stats()
    expect(refusing.status).toBe('offline')
    expect(refusing.lastError).toMatchObject({ code: 'broker_refused' })
    expect(refusing.batchesAcked).toBe(0)
    expect(refusing.outboxDepth).toBeGreaterThan(0)
    const delays = h.events.flatMap((e) => (e.type === 'retry' && e.what === 'ingest' ? [e.delayMs] : []))
    // Full jitter under a ceiling that doubles: the later waits may be longer than 0.5 s, the first never.
    expect(delays[0]).toBeLessThan(500)
    expect(Math.max(...delays)).toBeGreaterThan(500)

    broker.state.refusing = false
    await h.clock.runUntil(() => agent.stats().batchesAcked >= 8)
    await h.drive(agent.stop({ drainMs: 60_000 }))
    const stats = agent.stats()

    expect(stats.outboxDepth).toBe(0)
    expect(stats.recordsAcked).toBe(stats.readings)
    const ids = broker.taken.map((t) => t.batch.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(broker.taken.reduce((n, t) => n + t.batch.records, 0)).toBe(stats.readings)
    // Oldest first, under the enrolled device's id.
    const firstTs = broker.taken.map((t) => JSON.parse(t.batch.body.split('\n')[0]!).ts as number)
    expect(firstTs).toEqual([...firstTs].sort((a, b) => a - b))
    expect(new Set(broker.taken.map((t) => t.deviceId))).toEqual(new Set([stats.deviceId]))
    // Nothing went to POST /v1/ingest; heartbeats and the goodbye still went to the server.
    expect(h.server.requests('/v1/ingest')).toHaveLength(0)
    expect(stats.heartbeats).toBeGreaterThan(0)
    expect(broker.state.closed).toBe(1)
  })
})
