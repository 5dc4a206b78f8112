// The device agent: one core for every host. It reads a sensor into sealed batches kept in a bounded
// outbox (storage port), enrols once with its own key, authenticates by signing challenges, sends the
// outbox oldest first with idempotency keys, and beats. Hosts give it a clock, a storage, a sensor and
// (optionally) a transport; see firmware/node/ for the Node wiring. With an app host it also runs
// the Wasm apps the server deploys (apps/manager.ts), within their limits.
//
//   start()  loads or creates the identity, starts reading at once (readings taken before enrolment are
//            kept in the outbox), enrols if the identity has no deviceId yet (retrying with backoff),
//            then sends and beats.
//   stop()   stops reading and seals the last partial batch, optionally waits for the outbox to drain,
//            stops sending, and says goodbye (best effort). Nothing in the outbox is lost by stopping.
import { downloadRelease } from './apps/download.js'
import { createAppManager } from './apps/manager.js'
import { memoryAppStore } from './apps/memory-store.js'
import type { AppHost } from './apps/ports.js'
import type { ReleaseBounds } from './apps/release.js'
import { type BackoffPolicy, DEFAULT_BACKOFF, retryDelay } from './backoff.js'
import { systemClock } from './clock.js'
import { type AgentContext, messageOf, refreshOutboxStats } from './context.js'
import { isAbort, ProtocolError, RevokedError } from './errors.js'
import { runHeartbeat } from './heartbeat.js'
import { Notifier } from './notifier.js'
import type { AgentStorage, Clock, Sensor } from './ports.js'
import type { BatchPublisher } from './publisher.js'
import { runSampler } from './sampler.js'
import { runSender } from './sender.js'
import { Session } from './session.js'
import { type AgentEvent, type AgentStats, type AgentStatus, emptyStats } from './stats.js'
import { directTransport, type FetchLike, type Transport, TransportError } from './transport.js'

export interface AgentOptions {
  /** Base URL of the server, e.g. `https://edgewatch.example.com`; used when no transport is given. */
  server?: string
  /** How requests reach the server (default: directTransport(server, fetch)). */
  transport?: Transport
  /** fetch for the default transport (default: the global fetch). */
  fetch?: FetchLike
  /**
   * Publish batches to a broker (MQTT) instead of POST /v1/ingest; enrolment, heartbeats and apps
   * still use the transport. The agent closes it when it ends.
   */
  publisher?: BatchPublisher
  enrolmentToken: string
  name?: string
  sensor: Sensor
  storage: AgentStorage
  clock?: Clock
  /** Readings per second. */
  rateHz: number
  /** Seal a batch every this many ms. */
  batchMs: number
  /** Most batches kept in the outbox; past it the oldest are dropped and counted (default 10,000). */
  outboxLimit?: number
  /** Seal early at this many readings (default 10,000). */
  maxBatchRecords?: number
  agentVersion: string
  /** Sent at enrolment, e.g. `node-20.19.0 linux-x64` (default `js`). */
  platform?: string
  /** Free memory in bytes for heartbeats; undefined (or no function) sends null. */
  memory?: () => number | undefined
  onEvent?: (event: AgentEvent) => void
  /** Backoff for retries (defaults: base 500 ms, cap 30 s, Retry-After obeyed up to 5 min, Math.random). */
  backoff?: Partial<BackoffPolicy>
  /** The first heartbeat waits a random phase in [0, this) (default: min(interval, 5 s)). */
  heartbeatSpreadMs?: number
  /** Refresh the device token this long before it expires (default 60 s, at most a fifth of its life). */
  tokenRefreshMarginMs?: number
  /** How long a goodbye may take (default 5 s). */
  goodbyeTimeoutMs?: number
  /** Reading starts when this settles (default: at start); a simulator starts a whole fleet at once. */
  sampleFrom?: Promise<void>
  /** Where deployed apps run (see apps/ports.ts); without one, every app the server sends is reported failed. */
  appHost?: AppHost
  /** What this device accepts of a release (module size, memory, tick rate, wall time). */
  appBounds?: Partial<ReleaseBounds>
}

export interface StopOptions {
  /** Tell the server this is a clean stop (default true). Skipped when revoked or never enrolled. */
  goodbye?: boolean
  /** First wait up to this long for the outbox to empty (default 0: do not wait). */
  drainMs?: number
}

export interface Agent {
  /** Resolves once the identity is loaded (or created) and the loops run; enrolment goes on behind. */
  start(): Promise<void>
  stop(options?: StopOptions): Promise<void>
  stats(): AgentStats
  /** Resolves when the agent has ended: stopped, or revoked. */
  readonly done: Promise<void>
}

const DEFAULT_HEARTBEAT_MS = 30_000
/** Polling step while stop() waits for the outbox to drain. */
const DRAIN_POLL_MS = 50

export function createAgent(options: AgentOptions): Agent {
  if (!(options.rateHz > 0)) throw new RangeError('rateHz must be positive')
  if (!(options.batchMs > 0)) throw new RangeError('batchMs must be positive')
  const outboxLimit = options.outboxLimit ?? 10_000
  if (!Number.isSafeInteger(outboxLimit) || outboxLimit < 1) throw new RangeError('outboxLimit must be ≥ 1')
  const transport = options.transport ?? directTransportFor(options)
  const clock = options.clock ?? systemClock
  const stats = emptyStats()
  const backoff: BackoffPolicy = { ...DEFAULT_BACKOFF, ...options.backoff }
  const session = new Session({
    transport,
    clock,
    identityStore: options.storage.identity,
    enrolmentToken: options.enrolmentToken,
    ...(options.name === undefined ? {} : { name: options.name }),
    agentVersion: options.agentVersion,
    platform: options.platform ?? 'js',
    ...(options.tokenRefreshMarginMs === undefined ? {} : { refreshMarginMs: options.tokenRefreshMarginMs }),
  })

  const main = new AbortController()
  const reading = new AbortController()
  let started = false
  let ended = false
  let resolveDone: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve
  })
  const loops: Promise<void>[] = []
  let sampler: Promise<void> = Promise.resolve()

  const emit = (event: AgentEvent) => {
    try {
      options.onEvent?.(event)
    } catch {
      // A listener's failure is not the agent's.
    }
  }
  const ctx: AgentContext = {
    clock,
    storage: options.storage,
    session,
    publisher: options.publisher ?? null,
    backoff,
    outboxLimit,
    stats,
    unsaved: { dropped: 0 },
    sealed: new Notifier(),
    emit,
    setStatus(status: AgentStatus) {
      if (stats.status === status || stats.status === 'revoked' || stats.status === 'stopped') return
      stats.status = status
      emit({ type: 'status', status })
    },
    fail(code, message) {
      stats.lastError = { code, message, at: clock.now() }
      emit({ type: 'error', code, message })
    },
    revoke() {
      if (stats.status === 'revoked') return
      ctx.setStatus('revoked')
      emit({ type: 'revoked' })
      reading.abort(new Error('revoked'))
      main.abort(new Error('revoked'))
    },
    sleep: (ms, signal) => clock.sleep(ms, signal),
  }
  const apps = createAppManager({
    host: options.appHost ?? null,
    clock,
    store: options.storage.apps ?? memoryAppStore(),
    download: (release, maxBytes, signal) =>
      downloadRelease((request, s) => session.call(request, s), release, maxBytes, signal),
    channels: options.sensor.channels(),
    emit,
    ...(options.appBounds === undefined ? {} : { bounds: options.appBounds }),
    retry: { ...backoff, baseMs: 1000, capMs: 60_000 },
  })
  session.onReenrolled = () => {
    stats.deviceId = session.deviceId
    emit({ type: 'enrolled', deviceId: session.deviceId!, created: true })
  }
  session.onAuthenticated = (expiresAt) => {
    ctx.setStatus('connected')
    emit({ type: 'authenticated', expiresAt })
  }

  /** Runs a loop; an unexpected failure (a bug, a host fault) is reported and the loop restarts. */
  const supervise = (name: string, signal: AbortSignal, run: () => Promise<void>): Promise<void> => {
    const loop = async () => {
      for (let failures = 0; !signal.aborted; failures++) {
        try {
          await run()
          return
        } catch (e) {
          if (isAbort(e, signal)) return
          ctx.fail('internal_error', `${name}: ${messageOf(e)}`)
          try {
            await clock.sleep(retryDelay(failures, undefined, clock.now(), backoff), signal)
          } catch {
            return
          }
        }
      }
    }
    const promise = loop()
    loops.push(promise)
    return promise
  }

  const enrolThenSend = async (signal: AbortSignal) => {
    if (session.deviceId === null) {
      ctx.setStatus('enrolling')
      for (let failures = 0; ; failures++) {
        try {
          const enrolment = await session.enrol(signal)
          stats.deviceId = enrolment.deviceId
          ctx.setStatus('connected')
          emit({ type: 'enrolled', deviceId: enrolment.deviceId, created: enrolment.created })
          break
        } catch (e) {
          if (isAbort(e, signal)) return
          if (e instanceof RevokedError) return ctx.revoke()
          let retryAfter: string | undefined
          if (e instanceof ProtocolError) {
            // Also the token errors (invalid, expired, used up): an operator may fix them server side.
            ctx.fail(e.code, `enrolment refused (${e.status}): ${e.message}`)
            retryAfter = e.retryAfter
          } else if (e instanceof TransportError) {
            ctx.fail('network', `enrolment: ${e.message}`)
          } else {
            throw e
          }
          const delayMs = retryDelay(failures, retryAfter, clock.now(), backoff)
          emit({ type: 'retry', what: 'enrol', attempt: failures + 1, delayMs, reason: messageOf(e) })
          await clock.sleep(delayMs, signal)
        }
      }
    } else {
      ctx.setStatus('offline')
    }
    ctx.sealed.notify()
    const intervalMs = session.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS
    supervise('sender', signal, () => runSender(ctx, signal))
    supervise('heartbeat', signal, () =>
      runHeartbeat(
        ctx,
        {
          agentVersion: options.agentVersion,
          initialIntervalMs: intervalMs,
          spreadMs: options.heartbeatSpreadMs ?? Math.min(intervalMs, 5_000),
          memory: options.memory ?? (() => undefined),
          apps,
        },
        signal,
      ),
    )
  }

  const finish = async () => {
    await apps.stop()
    // Loops may add loops (enrolment starts the sender): wait until none is left running.
    for (let n = -1; n !== loops.length; ) {
      n = loops.length
      await Promise.all(loops)
    }
    if (!ended) {
      ended = true
      await options.publisher?.close().catch(() => {})
      resolveDone()
    }
  }

  return {
    async start() {
      if (started) throw new Error('an agent starts once')
      started = true
      stats.startedAt = clock.now()
      const identity = await session.load()
      stats.deviceId = identity.deviceId
      await refreshOutboxStats(ctx)
      sampler = supervise('sampler', reading.signal, async () => {
        await options.sampleFrom
        if (reading.signal.aborted) return
        return runSampler(
          ctx,
          {
            sensor: options.sensor,
            rateHz: options.rateHz,
            batchMs: options.batchMs,
            maxBatchRecords: options.maxBatchRecords ?? 10_000,
            apps,
          },
          reading.signal,
        )
      })
      supervise('enrolment', main.signal, () => enrolThenSend(main.signal))
      // Revocation ends everything without stop(): report the end when the loops are done.
      main.signal.addEventListener('abort', () => void finish(), { once: true })
    },

    async stop(stopOptions = {}) {
      if (!started || ended || main.signal.aborted) {
        await finish()
        return
      }
      // Apps first, so that what they emitted last goes into the sampler's last batch.
      await apps.stop()
      reading.abort(new Error('stopping'))
      await sampler
      const drainMs = stopOptions.drainMs ?? 0
      if (drainMs > 0) {
        const until = clock.now() + drainMs
        const depth = () => options.storage.outbox.count().catch(() => 0)
        while (clock.now() < until && !main.signal.aborted && (await depth()) > 0) {
          await clock.sleep(Math.min(DRAIN_POLL_MS, until - clock.now()), main.signal).catch(() => {})
        }
      }
      main.abort(new Error('stopping'))
      await finish()
      if ((stopOptions.goodbye ?? true) && session.deviceId !== null && stats.status !== 'revoked') {
        await goodbye(session, clock, options.goodbyeTimeoutMs ?? 5_000)
      }
      await refreshOutboxStats(ctx)
      ctx.setStatus('stopped')
      emit({ type: 'stopped' })
    },

    stats() {
      const counters = apps.counters()
      return {
        ...stats,
        appRecordsDropped: counters.recordsDropped,
        appCallsDropped: counters.callsDropped,
        apps: apps.report(),
        clockOffsetMs: session.clockOffsetMs,
        heartbeatRttMs: [...stats.heartbeatRttMs],
        ackLatencyMs: [...stats.ackLatencyMs],
        sealToAckMs: [...stats.sealToAckMs],
        lastError: stats.lastError && { ...stats.lastError },
      }
    },

    done,
  }
}

function directTransportFor(options: AgentOptions): Transport {
  if (!options.server) throw new TypeError('createAgent needs `server` or `transport`')
  return directTransport(options.server, options.fetch)
}

/** POST /v1/device/goodbye, best effort: any failure is ignored, and it gives up after `timeoutMs`. */
async function goodbye(session: Session, clock: Clock, timeoutMs: number): Promise<void> {
  const controller = new AbortController()
  const timer = clock.sleep(timeoutMs, controller.signal).then(
    () => controller.abort(new Error('goodbye timed out')),
    () => {},
  )
  try {
    await session.call({ method: 'POST', path: '/v1/device/goodbye', headers: {} }, controller.signal)
  } catch {
    // Best effort.
  } finally {
    controller.abort(new Error('done'))
    await timer
  }
}
