import { describe, expect, it } from 'vitest'
import type { Agent } from './agent.js'
import { publicJwk, thumbprint } from './identity.js'
import type { AgentStats } from './stats.js'
import { harness } from './testing/harness.js'

/** Every reading the agents took is on the server exactly once. */
function expectAllOnce(server: ReturnType<typeof harness>['server'], ...runs: AgentStats[]) {
  const readings = runs.reduce((sum, s) => sum + s.readings, 0)
  expect(readings).toBeGreaterThan(0)
  expect(server.duplicates()).toEqual([])
  expect(server.records.length).toBe(readings)
}

async function stopped(h: ReturnType<typeof harness>, agent: Agent, drainMs = 60_000, goodbye = true) {
  await h.drive(agent.stop({ goodbye, drainMs }))
  return agent.stats()
}

describe('agent', () => {
  it('enrols, sends every reading once in order, beats with its figures, and says goodbye', async () => {
    const h = harness()
    const agent = h.agent()
    await agent.start()
    await h.clock.runUntil(() => agent.stats().batchesAcked >= 10)
    const stats = await stopped(h, agent)

    expect(stats.status).toBe('stopped')
    expectAllOnce(h.server, stats)
    const device = [...h.server.devices.values()][0]!
    expect(stats.deviceId).toBe(device.id)
    expect(device.name).toBe('pump-7')
    expect(device.agent).toEqual({ version: '0.1.0-test', platform: 'test' })
    expect(h.server.records.every((r) => r.deviceId === device.id)).toBe(true)
    // Oldest first: the server stored the records in the order they were read.
    const ts = h.server.records.map((r) => r.ts)
    expect(ts).toEqual([...ts].sort((a, b) => a - b))
    expect(stats.recordsAcked).toBe(stats.readings)
    expect(stats.batchesAcked).toBe(h.server.batches.size)
    expect(stats.ackLatencyMs.length).toBe(stats.batchesAcked)
    expect(stats.outboxDepth).toBe(0)
    expect(device.heartbeats.length).toBeGreaterThanOrEqual(1)
    expect(device.heartbeats[0]).toMatchObject({
      agentVersion: '0.1.0-test',
      freeMemoryBytes: 123_456,
      outboxDropped: 0,
      apps: [],
    })
    expect(stats.heartbeatRttMs.length).toBe(device.heartbeats.length)
    expect(device.goodbyes).toBe(1)
    expect(h.events.map((e) => e.type)).toContain('enrolled')
    expect(h.events.at(-1)).toEqual({ type: 'stopped' })
  })

  it('beats every intervalMs, the first one after a random phase shorter than the spread', async () => {
    const h = harness({ server: { heartbeatIntervalMs: 10_000 } })
    const agent = h.agent({ heartbeatSpreadMs: 4_000 })
    await agent.start()
    await h.clock.runUntil(() => [...h.server.devices.values()][0]?.heartbeats.length === 4)
    const beats = [...h.server.devices.values()][0]!.heartbeats.map((b) => b.at as number)
    const enrolledAt = h.server.requests('/v1/device/enrol')[0]!.at
    expect(beats[0]! - enrolledAt).toBeLessThan(4_000)
    for (let i = 1; i < beats.length; i++) expect(beats[i]! - beats[i - 1]!).toBe(10_000)
    await stopped(h, agent)
  })

  it('loses nothing and stores nothing twice through network loss, lost answers and a restart', async () => {
    const h = harness()
    const first = h.agent()
    await first.start()
    await h.clock.runUntil(() => first.stats().batchesAcked >= 5)

    h.server.online = false
    await h.clock.advance(90_000)
    expect(first.stats().status).toBe('offline')
    expect(first.stats().outboxDepth).toBeGreaterThan(60)
    expect(first.stats().retries).toBeGreaterThan(3)

    // Back, but the next answers are lost after the server committed: the retries are replays.
    h.server.online = true
    h.server.loseAnswers('/v1/ingest', 3)
    await h.clock.runUntil(() => first.stats().outboxDepth === 0)
    expect(first.stats().status).toBe('connected')

    // Offline again, then the process ends without draining: the outbox keeps what was not sent.
    h.server.online = false
    await h.clock.advance(20_000)
    const firstStats = await stopped(h, first, 0, false)
    expect(firstStats.outboxDepth).toBeGreaterThan(10)

    h.server.online = true
    const second = h.agent()
    await second.start()
    await h.clock.runUntil(() => second.stats().batchesAcked >= 30)
    const secondStats = await stopped(h, second)

    expectAllOnce(h.server, firstStats, secondStats)
    expect(h.server.requests('/v1/device/enrol')).toHaveLength(1)
    // The lost answers were retried with the same key and answered from the idempotency record.
    const keys = h.server.requests('/v1/ingest', 200).map((e) => e.idempotencyKey)
    expect(keys.length - new Set(keys).size).toBe(3)
    expect(h.server.batches.size).toBe(new Set(keys).size)
  })

  it('keeps its key and deviceId across restarts and does not enrol again', async () => {
    const h = harness()
    const first = h.agent()
    await first.start()
    await h.clock.runUntil(() => first.stats().status === 'connected')
    await stopped(h, first)
    const identity = await h.storage.identity.loadIdentity()

    const second = h.agent()
    await second.start()
    expect(second.stats().deviceId).toBe(identity!.deviceId)
    await h.clock.runUntil(() => second.stats().batchesAcked >= 3)
    await stopped(h, second)

    expect(h.server.requests('/v1/device/enrol')).toHaveLength(1)
    expect(h.server.devices.size).toBe(1)
    const device = h.server.devices.get(identity!.deviceId!)!
    expect(device.thumbprint).toBe(await thumbprint(await publicJwk(identity!.keyPair.publicKey)))
    expect(h.server.records.every((r) => r.deviceId === device.id)).toBe(true)
  })

  it('a key saved before its enrolment answer was (a crash) enrols again and gets the same device', async () => {
    const h = harness({ server: { enrolmentTokens: { 'enrol-token': { uses: 1 } } } })
    const first = h.agent()
    await first.start()
    await h.clock.runUntil(() => first.stats().status === 'connected')
    await stopped(h, first, 0)
    const saved = (await h.storage.identity.loadIdentity())!
    await h.storage.identity.saveIdentity({ ...saved, deviceId: null })

    const second = h.agent()
    await second.start()
    await h.clock.runUntil(() => second.stats().deviceId !== null)
    expect(second.stats().deviceId).toBe(saved.deviceId)
    expect(h.server.requests('/v1/device/enrol').map((e) => e.status)).toEqual([201, 200])
    expect(h.events.filter((e) => e.type === 'enrolled').map((e) => 'created' in e && e.created)).toEqual([
      true,
      false,
    ])
    await stopped(h, second)
  })

  it('readings taken before enrolment succeeds are kept and sent (the server fills in the deviceId)', async () => {
    const h = harness()
    h.server.online = false
    const agent = h.agent()
    await agent.start()
    await h.clock.advance(10_000)
    expect(agent.stats().status).toBe('enrolling')
    expect(agent.stats().outboxDepth).toBeGreaterThanOrEqual(9)
    h.server.online = true
    await h.clock.runUntil(() => agent.stats().batchesAcked >= 15)
    const stats = await stopped(h, agent)
    expectAllOnce(h.server, stats)
    expect(h.server.records.every((r) => r.deviceId === stats.deviceId)).toBe(true)
  })

  it('corrects a far-off device clock from the server time and enrols', async () => {
    const h = harness()
    // The server's clock is an hour ahead of the device's.
    const serverClock = { now: () => h.clock.now() + 3_600_000, sleep: h.clock.sleep }
    const { createFakeServer } = await import('./testing/fake-server.js')
    const server = createFakeServer({ clock: serverClock, tokenTtlMs: 5 * 60_000 })
    const agent = h.agent({ transport: h.transportOf(server.fetch), rateHz: 0.2, batchMs: 5000 })
    await agent.start()
    await h.clock.runUntil(() => agent.stats().batchesAcked >= 5)
    expect(server.requests('/v1/device/enrol').map((e) => e.status)).toEqual([400, 201])
    // The token's lifetime is judged on the server's time: it is refreshed before it expires, not after.
    await h.clock.advance(20 * 60_000)
    expect(server.requests('/v1/device/token', 200).length).toBeGreaterThanOrEqual(4)
    expect(server.log.filter((e) => e.status === 401)).toEqual([])
    expect(Math.abs(agent.stats().clockOffsetMs - 3_600_000)).toBeLessThan(1000)
    await stopped(h, agent)
  })

  it('refreshes its token before expiry, and on 401 token_expired authenticates again and retries', async () => {
    const h = harness({ server: { tokenTtlMs: 5 * 60_000 } })
    const agent = h.agent({ rateHz: 0.2, batchMs: 5000 })
    await agent.start()
    // 18 min: tokens are renewed every 4 min (5 min less a 1 min margin), so this is mid-token.
    await h.clock.advance(18 * 60_000)
    expect(h.server.requests('/v1/device/token', 200).length).toBeGreaterThanOrEqual(4)
    expect(h.server.log.filter((e) => e.status === 401)).toEqual([])

    h.server.expireTokens()
    const acked = agent.stats().batchesAcked
    await h.clock.runUntil(() => agent.stats().batchesAcked >= acked + 5)
    const unauthorised = h.server.log.filter((e) => e.status === 401)
    expect(unauthorised.length).toBeGreaterThanOrEqual(1)
    // Each 401 was followed by a fresh challenge and token, then the same request again.
    for (const e of unauthorised.filter((u) => u.path === '/v1/ingest')) {
      const retry = h.server.log.find((l) => l.at >= e.at && l !== e && l.idempotencyKey === e.idempotencyKey)
      expect(retry?.status).toBe(200)
    }
    const stats = await stopped(h, agent)
    expectAllOnce(h.server, stats)
    expect(stats.rejected).toBe(0)
  })

  it('a server that forgot the device (unknown_device) gets the same key enrolled again', async () => {
    const h = harness()
    const agent = h.agent()
    await agent.start()
    await h.clock.runUntil(() => agent.stats().batchesAcked >= 3)
    const deviceId = agent.stats().deviceId
    h.server.forgetDevices()
    const acked = agent.stats().batchesAcked
    await h.clock.runUntil(() => agent.stats().batchesAcked >= acked + 3)
    expect(h.server.requests('/v1/device/enrol').map((e) => e.status)).toEqual([201, 201])
    expect(agent.stats().deviceId).toBe(deviceId)
    const stats = await stopped(h, agent)
    expectAllOnce(h.server, stats)
  })

  it('stops for good when revoked, and reports it', async () => {
    const h = harness()
    const agent = h.agent()
    await agent.start()
    await h.clock.runUntil(() => agent.stats().batchesAcked >= 3)
    h.server.revoke(agent.stats().deviceId!)
    await h.clock.runUntil(() => agent.stats().status === 'revoked')
    await h.drive(agent.done)
    const requests = h.server.log.length
    await h.clock.advance(10 * 60_000)
    expect(h.server.log.length).toBe(requests)
    expect(h.clock.pending()).toBe(0)
    expect(h.events.some((e) => e.type === 'revoked')).toBe(true)
    await h.drive(agent.stop({ goodbye: true }))
    expect(agent.stats().status).toBe('revoked')
    expect([...h.server.devices.values()][0]!.goodbyes).toBe(0)
    expect(h.server.log.length).toBe(requests)
  })

  it('a revoked key is told so at enrolment and stops', async () => {
    const h = harness()
    const first = h.agent()
    await first.start()
    await h.clock.runUntil(() => first.stats().status === 'connected')
    await stopped(h, first, 0)
    const saved = (await h.storage.identity.loadIdentity())!
    h.server.revoke(saved.deviceId!)
    await h.storage.identity.saveIdentity({ ...saved, deviceId: null })
    const second = h.agent()
    await second.start()
    await h.drive(second.done)
    expect(second.stats().status).toBe('revoked')
  })

  it('past the outbox bound drops the oldest batches, counts them (persisted) and reports them', async () => {
    const h = harness()
    const agent = h.agent({ outboxLimit: 5 })
    await agent.start()
    await h.clock.runUntil(() => agent.stats().batchesAcked >= 2)
    h.server.online = false
    await h.clock.advance(30_000)
    const offline = agent.stats()
    expect(offline.outboxDepth).toBe(5)
    expect(offline.dropped).toBeGreaterThanOrEqual(24)
    expect(await h.storage.outbox.dropped()).toBe(offline.dropped)
    const dropEvents = h.events.filter((e) => e.type === 'dropped')
    expect(dropEvents.reduce((n, e) => n + ('count' in e ? e.count : 0), 0)).toBe(offline.dropped)

    h.server.online = true
    await h.clock.runUntil(() =>
      [...h.server.devices.values()][0]!.heartbeats.some((b) => b.outboxDropped !== 0),
    )
    const beats = [...h.server.devices.values()][0]!.heartbeats
    expect(beats.at(-1)!.outboxDropped).toBeGreaterThanOrEqual(offline.dropped)
    await h.clock.runUntil(() => agent.stats().outboxDepth === 0)
    const stats = await stopped(h, agent)
    // What reached the server is every reading except those of the dropped batches.
    expect(h.server.duplicates()).toEqual([])
    expect(stats.recordsAcked).toBe(h.server.records.length)
    expect(stats.readings - h.server.records.length).toBe(stats.dropped * 2)
    expect(await h.storage.outbox.dropped()).toBe(stats.dropped)

    // The count survives a restart.
    const again = h.agent({ outboxLimit: 5 })
    await again.start()
    expect(again.stats().dropped).toBe(stats.dropped)
    await stopped(h, again, 0)
  })

  it('backs off with full jitter, honours Retry-After on 503 overloaded and conflict, and caps', async () => {
    const h = harness()
    const agent = h.agent({ rateHz: 0.5, batchMs: 2000 })
    await agent.start()
    await h.clock.runUntil(() => agent.stats().batchesAcked >= 2)

    h.server.failNext('/v1/ingest', 2, 503, 'overloaded', { 'retry-after': '7' })
    await h.clock.runUntil(() => h.server.requests('/v1/ingest', 503).length === 2)
    const key = h.server.requests('/v1/ingest', 503)[0]!.idempotencyKey
    const attemptsOf = () => h.server.requests('/v1/ingest').filter((e) => e.idempotencyKey === key)
    await h.clock.runUntil(() => attemptsOf().some((e) => e.status === 200))
    const attempts = attemptsOf()
    expect(attempts.map((a) => a.status)).toEqual([503, 503, 200])
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(7000)
    expect(attempts[1]!.at - attempts[0]!.at).toBeLessThan(7000 + 500)
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(7000)
    expect(attempts[2]!.at - attempts[1]!.at).toBeLessThan(7000 + 1000)

    h.server.failNext('/v1/ingest', 1, 503, 'conflict', { 'retry-after': '1' })
    await h.clock.runUntil(() => h.server.requests('/v1/ingest', 503).length === 3)
    const conflicted = h.server.requests('/v1/ingest', 503)[2]!
    await h.clock.runUntil(() => h.server.batches.has(conflicted.idempotencyKey!))
    const retried = h.server
      .requests('/v1/ingest', 200)
      .find((e) => e.idempotencyKey === conflicted.idempotencyKey)!
    expect(retried.at - conflicted.at).toBeGreaterThanOrEqual(1000)

    // A long outage: every wait is a full-jitter draw under its ceiling, and none passes the cap.
    const from = h.events.length
    h.server.online = false
    await h.clock.advance(15 * 60_000)
    h.server.online = true
    const waits = h.events.slice(from).filter((e) => e.type === 'retry' && e.what === 'ingest')
    expect(waits.length).toBeGreaterThan(20)
    waits.forEach((e, i) => {
      if (e.type !== 'retry') return
      expect(e.delayMs).toBeLessThan(Math.min(30_000, 500 * 2 ** i))
    })
    const late = waits.slice(10).map((e) => (e.type === 'retry' ? e.delayMs : 0))
    expect(Math.max(...late)).toBeGreaterThan(15_000)
    expect(Math.min(...late)).toBeLessThan(15_000)
    const stats = await stopped(h, agent)
    expectAllOnce(h.server, stats)
  })

  it('drops and counts a batch the server refuses whole (400, 413, 422) and goes on', async () => {
    const h = harness()
    const agent = h.agent()
    await agent.start()
    await h.clock.runUntil(() => agent.stats().batchesAcked >= 2)
    for (const [status, code] of [
      [400, 'invalid_body'],
      [413, 'payload_too_large'],
      [422, 'idempotency_key_reused'],
    ] as const) {
      h.server.failNext('/v1/ingest', 1, status, code)
      await h.clock.runUntil(() => agent.stats().lastError?.code === code)
    }
    await h.clock.runUntil(() => agent.stats().batchesAcked >= 8)
    const stats = await stopped(h, agent)
    expect(stats.rejected).toBe(3)
    expect(stats.rejectedRecords).toBe(6)
    expect(h.events.filter((e) => e.type === 'rejected').map((e) => 'code' in e && e.code)).toEqual([
      'invalid_body',
      'payload_too_large',
      'idempotency_key_reused',
    ])
    expect(h.server.records.length).toBe(stats.readings - 6)
    expect(h.server.duplicates()).toEqual([])
  })

  it('keeps trying to enrol with a refused token, and says why', async () => {
    const h = harness()
    const agent = h.agent({ enrolmentToken: 'wrong', rateHz: 1 })
    await agent.start()
    await h.clock.advance(120_000)
    const stats = agent.stats()
    expect(stats.status).toBe('enrolling')
    expect(stats.lastError?.code).toBe('invalid_enrolment_token')
    expect(h.server.requests('/v1/device/enrol').length).toBeGreaterThan(3)
    expect(stats.outboxDepth).toBeGreaterThan(100)
    expect(stats.readings).toBe(121) // t = 0 s to 120 s, both ends
    await h.drive(agent.stop())
    expect(agent.stats().status).toBe('stopped')
  })

  it('stop seals the last partial batch: what was read is in the outbox or on the server', async () => {
    const h = harness()
    const agent = h.agent({ batchMs: 60_000 })
    await agent.start()
    await h.clock.runUntil(() => agent.stats().readings >= 7)
    const stats = await stopped(h, agent, 0, false)
    const kept = await h.storage.outbox.oldest(10)
    expect(kept.reduce((n, b) => n + b.records, 0) + h.server.records.length).toBe(stats.readings)
  })
})
