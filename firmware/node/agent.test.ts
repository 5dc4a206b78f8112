// The agent on the file storage, restarted by recreating the storage over the same directory; a
// "kill" freezes the old agent where it stands (its timers, requests and storage calls never return),
// as a crash would, instead of stopping it.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createAgent } from '../agent/agent.js'
import type { AgentStorage, Clock } from '../agent/ports.js'
import { countingSensor, harness, SERVER_URL } from '../agent/testing/harness.js'
import { seededRandom } from '../agent/testing/random.js'
import type { FetchLike } from '../agent/transport.js'
import { createNodeAgent } from './agent.js'
import { fileStorage } from './file-storage.js'

const dirs: string[] = []
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

const never = <T>() => new Promise<T>(() => {})

/**
 * Ports that stop answering at kill(): the agent freezes mid-step, as in a crash. `inFlight` counts the
 * real work (file I/O, requests) under way, so that the fake clock can wait for it.
 */
function killable(clock: Clock, fetch: FetchLike, storage: AgentStorage) {
  let dead = false
  const work = { inFlight: 0 }
  const guard =
    <A extends unknown[], R>(f: (...args: A) => Promise<R>, real = true) =>
    (...args: A): Promise<R> => {
      if (dead) return never<R>()
      if (real) work.inFlight += 1
      const result = f(...args).finally(() => {
        if (real) work.inFlight -= 1
      })
      return result.then((r) => (dead ? never<R>() : r))
    }
  return {
    work,
    clock: { now: () => clock.now(), sleep: guard(clock.sleep, false) },
    fetch: guard(fetch),
    storage: {
      identity: {
        extractableKeys: storage.identity.extractableKeys,
        loadIdentity: guard(storage.identity.loadIdentity),
        saveIdentity: guard(storage.identity.saveIdentity),
      },
      outbox: {
        append: guard(storage.outbox.append),
        oldest: guard(storage.outbox.oldest),
        delete: guard(storage.outbox.delete),
        count: guard(storage.outbox.count),
        dropped: guard(storage.outbox.dropped),
      },
    } satisfies AgentStorage,
    kill: () => {
      dead = true
    },
  }
}

describe('agent on the file storage', () => {
  it('killed and restarted over the same directory, through network loss: every sealed batch stored once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgewatch-agent-'))
    dirs.push(dir)
    const h = harness()
    const random = seededRandom(3)
    const sealed = new Map<string, number>()
    let work = { inFlight: 0 }
    h.clock.holdWhile(() => work.inFlight > 0)
    for (let run = 0; run < 4; run++) {
      const ports = killable(h.clock, h.server.fetch, await fileStorage(dir, { durable: false }))
      work = ports.work
      const agent = createAgent({
        server: SERVER_URL,
        fetch: ports.fetch,
        enrolmentToken: 'enrol-token',
        sensor: countingSensor(),
        storage: ports.storage,
        clock: ports.clock,
        rateHz: 4,
        batchMs: 500,
        agentVersion: 'test',
        backoff: { random },
        onEvent: (e) => {
          if (e.type === 'sealed') sealed.set(e.id, e.records)
        },
      })
      await agent.start()
      await h.clock.advance(5_000 + random() * 5_000)
      h.server.online = run % 2 === 1
      await h.clock.advance(random() * 10_000)
      ports.kill()
      expect(agent.stats().missedReadings).toBe(0)
      h.server.online = true
    }
    const final = await createNodeAgent({
      server: SERVER_URL,
      fetch: h.server.fetch,
      enrolmentToken: 'enrol-token',
      stateDir: dir,
      durable: false,
      sensor: countingSensor(),
      clock: h.clock,
      rateHz: 4,
      batchMs: 500,
      agentVersion: 'test',
      onEvent: (e) => {
        if (e.type === 'sealed') sealed.set(e.id, e.records)
      },
    })
    await final.start()
    // The Node wiring reports the host's free memory (the killed agents above had no memory port: null).
    const nodeBeat = () =>
      [...h.server.devices.values()][0]?.heartbeats.find((b) => typeof b.freeMemoryBytes === 'number')
    await h.clock.runUntil(
      () => final.stats().outboxDepth === 0 && final.stats().batchesAcked > 5 && nodeBeat() !== undefined,
    )
    await h.drive(final.stop({ drainMs: 60_000 }))

    expect(h.server.requests('/v1/device/enrol')).toHaveLength(1)
    expect(h.server.duplicates()).toEqual([])
    expect(sealed.size).toBeGreaterThan(100)
    for (const [id, records] of sealed) expect(h.server.batches.get(id)?.records, id).toBe(records)
    expect(h.server.records.length).toBe([...sealed.values()].reduce((a, b) => a + b, 0))
    expect(final.stats().deviceId).toBe([...h.server.devices.keys()][0])
    expect(nodeBeat()!.freeMemoryBytes).toBeGreaterThan(0)
  })
})
