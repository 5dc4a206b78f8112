import { describe, expect, it } from 'vitest'
import { memoryStorage } from './memory-storage.js'
import { RELAY_PATH, relayTransport } from './relay.js'
import { tick } from './testing/fake-clock.js'
import { countingSensor, harness, SERVER_URL } from './testing/harness.js'
import { directTransport, type Transport, TransportError, type TransportRequest } from './transport.js'

const ingest = (i: number): TransportRequest => ({
  method: 'POST',
  path: '/v1/ingest',
  headers: {
    authorization: `Bearer t${i}`,
    'content-type': 'application/x-ndjson',
    'idempotency-key': `k${i}`,
  },
  body: `{"ts":${i}}\n`,
})

/** An upstream that records what it was sent and answers with `answer`. */
function upstream(
  answer: (req: TransportRequest) => { status: number; body: string; headers?: Record<string, string> },
) {
  const sent: TransportRequest[] = []
  const transport: Transport = {
    async send(req) {
      sent.push(req)
      const a = answer(req)
      return { status: a.status, headers: a.headers ?? {}, body: a.body }
    },
  }
  return { sent, transport }
}

/** Answers each relayed part with its own index and idempotency key: who got what is visible. */
const echo = (req: TransportRequest) => {
  if (req.path !== RELAY_PATH) return { status: 201, body: `direct ${req.headers['idempotency-key']}` }
  const { parts } = JSON.parse(req.body!) as { parts: TransportRequest[] }
  return {
    status: 200,
    body: JSON.stringify({
      parts: parts.map((p, i) => ({
        status: 200 + i,
        headers: { 'X-Part': String(i) },
        body: p.headers['idempotency-key'],
      })),
    }),
  }
}

describe('relay transport', () => {
  it('bundles requests that arrive within the window and hands each its own answer', async () => {
    const h = harness()
    const up = upstream(echo)
    const relay = relayTransport({ upstream: up.transport, clock: h.clock, windowMs: 20 })
    const answers = [0, 1, 2, 3].map((i) => relay.send(ingest(i)))
    await tick()
    expect(up.sent).toHaveLength(0)
    await h.clock.advance(20)
    const got = await Promise.all(answers)
    expect(up.sent).toHaveLength(1)
    expect(up.sent[0]!.path).toBe(RELAY_PATH)
    const envelope = JSON.parse(up.sent[0]!.body!) as { parts: TransportRequest[] }
    expect(envelope.parts).toEqual([0, 1, 2, 3].map(ingest))
    expect(got.map((a) => [a.status, a.body, a.headers['x-part']])).toEqual([
      [200, 'k0', '0'],
      [201, 'k1', '1'],
      [202, 'k2', '2'],
      [203, 'k3', '3'],
    ])
  })

  it('sends at maxParts without waiting, and other paths directly', async () => {
    const h = harness()
    const up = upstream(echo)
    const relay = relayTransport({ upstream: up.transport, clock: h.clock, windowMs: 1000, maxParts: 3 })
    const first = [0, 1, 2].map((i) => relay.send(ingest(i)))
    expect((await Promise.all(first)).map((a) => a.body)).toEqual(['k0', 'k1', 'k2'])
    const enrol = await relay.send({ ...ingest(9), path: '/v1/device/enrol' })
    expect(enrol.body).toBe('direct k9')
    expect(relay.counts()).toEqual({ envelopes: 1, parts: 3, direct: 1 })
  })

  it('a part larger than maxBytes goes alone; parts past maxBytes start a new envelope', async () => {
    const h = harness()
    const up = upstream(echo)
    const relay = relayTransport({ upstream: up.transport, clock: h.clock, maxBytes: 600 })
    const big = { ...ingest(0), body: 'x'.repeat(700) }
    expect((await relay.send(big)).body).toBe('direct k0')
    const parts = [1, 2, 3].map((i) => relay.send({ ...ingest(i), body: 'y'.repeat(100) }))
    await h.clock.advance(20)
    expect((await Promise.all(parts)).map((a) => a.body)).toEqual(['k1', 'k2', 'k3'])
    expect(relay.counts().envelopes).toBe(2)
  })

  it('no answer to the envelope: every part fails as a network error', async () => {
    const h = harness()
    const relay = relayTransport({
      upstream: {
        send: async () => {
          throw new TransportError('down')
        },
      },
      clock: h.clock,
    })
    const parts = [0, 1].map((i) => relay.send(ingest(i)))
    const settled = Promise.allSettled(parts)
    await h.clock.advance(20)
    for (const r of await settled) {
      expect(r.status).toBe('rejected')
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TransportError)
    }
  })

  it('503 on the envelope is every part’s answer (Retry-After included); 404 sends each part alone', async () => {
    const h = harness()
    const busy = upstream(() => ({
      status: 503,
      body: '{"error":{"code":"overloaded"}}',
      headers: { 'retry-after': '3' },
    }))
    const relay = relayTransport({ upstream: busy.transport, clock: h.clock })
    const parts = [0, 1].map((i) => relay.send(ingest(i)))
    await h.clock.advance(20)
    for (const a of await Promise.all(parts)) expect([a.status, a.headers['retry-after']]).toEqual([503, '3'])

    const old = upstream((req) => (req.path === RELAY_PATH ? { status: 404, body: '' } : echo(req)))
    const fallback = relayTransport({ upstream: old.transport, clock: h.clock })
    const alone = [0, 1].map((i) => fallback.send(ingest(i)))
    await h.clock.advance(20)
    expect((await Promise.all(alone)).map((a) => [a.status, a.body])).toEqual([
      [201, 'direct k0'],
      [201, 'direct k1'],
    ])
  })

  it('an answer without one part per request fails every part; an aborted part leaves the others', async () => {
    const h = harness()
    const short = upstream(() => ({ status: 200, body: '{"parts":[]}' }))
    const relay = relayTransport({ upstream: short.transport, clock: h.clock })
    const controller = new AbortController()
    const aborted = relay.send(ingest(0), controller.signal)
    const other = relay.send(ingest(1))
    controller.abort(new Error('stop'))
    await expect(aborted).rejects.toThrow('stop')
    const failing = expect(other).rejects.toBeInstanceOf(TransportError)
    await h.clock.advance(20)
    await failing
    expect((JSON.parse(short.sent[0]!.body!) as { parts: unknown[] }).parts).toHaveLength(1)
  })

  it('K agents share one connection; each part reaches its own agent (one revoked, the others go on)', async () => {
    const h = harness()
    const K = 5
    const relay = relayTransport({
      upstream: directTransport(SERVER_URL, h.server.fetch),
      clock: h.clock,
      windowMs: 20,
    })
    const agents = Array.from({ length: K }, (_, i) =>
      h.agent({ transport: relay, storage: memoryStorage(), sensor: countingSensor(), name: `node-${i}` }),
    )
    for (const a of agents) await a.start()
    await h.clock.runUntil(() => agents.every((a) => a.stats().batchesAcked >= 5))

    const victim = agents[2]!
    h.server.revoke(victim.stats().deviceId!)
    await h.clock.runUntil(() => victim.stats().status === 'revoked')
    const others = agents.filter((a) => a !== victim)
    const acked = others.map((a) => a.stats().batchesAcked)
    await h.clock.runUntil(() => others.every((a, i) => a.stats().batchesAcked >= acked[i]! + 5))
    for (const a of others) {
      await h.drive(a.stop({ drainMs: 60_000 }))
      expect(a.stats().status).toBe('stopped')
    }

    // Ingest, heartbeats and goodbyes went only as relayed parts, many to an envelope.
    const relayable = ['/v1/ingest', '/v1/device/heartbeat', '/v1/device/goodbye']
    expect(h.server.log.filter((e) => !e.relayed && relayable.includes(e.path))).toEqual([])
    expect(h.server.requests('/v1/device/goodbye', 204)).toHaveLength(K - 1)
    const envelopes = h.server.requests(RELAY_PATH)
    expect(Math.max(...envelopes.map((e) => e.parts ?? 0))).toBeGreaterThanOrEqual(K - 1)
    expect(relay.counts().parts).toBeGreaterThan(relay.counts().envelopes * 2)
    // Each agent's records are its own, all there, once.
    expect(h.server.duplicates()).toEqual([])
    for (const a of others) {
      const mine = h.server.records.filter((r) => r.deviceId === a.stats().deviceId)
      expect(mine.length).toBe(a.stats().readings)
      expect(a.stats().recordsAcked).toBe(a.stats().readings)
    }
    expect(new Set(agents.map((a) => a.stats().deviceId)).size).toBe(K)
    expect([...h.server.devices.values()].every((d) => d.heartbeats.length > 0)).toBe(true)
  })
})
