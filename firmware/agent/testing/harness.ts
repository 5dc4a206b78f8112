// Agents against the fake server on a fake clock: what the agent tests (here and in firmware/node/) share.
import { type Agent, type AgentOptions, createAgent } from '../agent.js'
import { memoryStorage } from '../memory-storage.js'
import type { AgentStorage, Sensor } from '../ports.js'
import type { AgentEvent } from '../stats.js'
import { directTransport, type FetchLike, type Transport } from '../transport.js'
import { type FakeClock, fakeClock } from './fake-clock.js'
import { createFakeServer, type FakeServer, type FakeServerOptions } from './fake-server.js'
import { seededRandom } from './random.js'

export const SERVER_URL = 'http://edgewatch.test'

/** A sensor whose readings are all different: `n` counts, `temp` follows a slow sine. */
export function countingSensor(): Sensor {
  let n = 0
  return {
    kind: 'counter',
    channels: () => ['n', 'temp'],
    read: (tMs) => ({ n: ++n, temp: 20 + 5 * Math.sin(tMs / 60_000) }),
  }
}

export interface Harness {
  clock: FakeClock
  server: FakeServer
  events: AgentEvent[]
  /** A new agent (not started) on `storage` (default: the harness's one storage, so a new agent is a restart). */
  agent(overrides?: Partial<AgentOptions>): Agent
  storage: AgentStorage
  /** A direct transport to `fetch` that holds the fake clock while a request is under way. */
  transportOf(fetch: FetchLike): Transport
  /** Runs the fake clock until the promise settles; answers its value. */
  drive<T>(promise: Promise<T>): Promise<T>
}

export function harness(options: { server?: Partial<FakeServerOptions>; seed?: number } = {}): Harness {
  const clock = fakeClock()
  const server = createFakeServer({ clock, ...options.server })
  const events: AgentEvent[] = []
  const storage = memoryStorage()
  const random = seededRandom(options.seed ?? 1)
  // Fake time waits while a request is under way (the server's signature checks are real WebCrypto work).
  let inFlight = 0
  clock.holdWhile(() => inFlight > 0)
  const transportOf = (fetch: FetchLike): Transport => {
    const direct = directTransport(SERVER_URL, fetch)
    return {
      async send(request, signal) {
        inFlight += 1
        try {
          return await direct.send(request, signal)
        } finally {
          inFlight -= 1
        }
      },
    }
  }
  const transport = transportOf(server.fetch)
  return {
    clock,
    server,
    events,
    storage,
    transportOf,
    agent: (overrides = {}) =>
      createAgent({
        server: SERVER_URL,
        transport,
        enrolmentToken: 'enrol-token',
        name: 'pump-7',
        sensor: countingSensor(),
        storage,
        clock,
        rateHz: 2,
        batchMs: 1000,
        outboxLimit: 10_000,
        agentVersion: '0.1.0-test',
        platform: 'test',
        memory: () => 123_456,
        onEvent: (e) => events.push(e),
        backoff: { random },
        ...overrides,
      }),
    async drive(promise) {
      let settled = false
      const done = () => {
        settled = true
      }
      promise.then(done, done)
      await clock.runUntil(() => settled)
      return promise
    },
  }
}
