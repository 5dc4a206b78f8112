// The app host in a browser: app instances run in Web Workers, pooled (a few workers for every app of
// every MCU of the page), and a watchdog on the host's thread holds their wall time. It follows the
// Node host (firmware/node/app-host.ts): messages to a worker sent in the same turn travel as one; an
// overrun terminates the worker: the instance that overran gets wall_timeout, every other instance on
// it host_restart (the manager restarts those at once, without counting it against them). Fuel and
// memory are held by the runner inside the worker, exactly as on Node (same metered module, same fuel).
//
// The watchdog without shared memory: a worker runs its messages in the order they were sent and
// answers them in that order, so the call running is the oldest one unanswered, and it cannot have
// started before it was sent nor before the answer to the one before it arrived. Taking the later of
// those two times as its start, the deadline is never earlier than the real one: an app is never
// killed before its wall time is over, at worst a little after (the answer's trip, ≤ 20 ms batching).
import {
  type AppCallResult,
  type AppHost,
  type AppInstance,
  AppStartError,
  type TrapKind,
} from '../agent/apps/ports.js'
import {
  createRunner,
  DEFAULT_RUNNER_BOUNDS,
  type RunnerBounds,
  type RunnerStartResult,
} from '../agent/apps/runner.js'
import { browserWorkerMain, type FromWorker, type ToWorker } from './app-worker.js'

export interface BrowserAppHostOptions {
  /** Workers in the pool (default 2); instances go to the one with the fewest. */
  workers?: number
  bounds?: RunnerBounds
}

export interface BrowserAppHost extends AppHost {
  /** Terminates every worker; instances answer host_restart from then on. */
  close(): void
  counts(): { workers: number; instances: number; wallTimeouts: number; hostRestarts: number }
}

/** How often a worker answers during a long batch, ms. */
const REPLY_EVERY_MS = 20

interface Pending {
  wallMs: number
  kind: 'start' | 'call'
  hosted: Hosted
  /** When its message was posted (performance.now()). */
  sentAt: number
  resolve(reply: FromWorker): void
}

interface Thread {
  worker: Worker
  /** Unanswered, in the order sent (a Map keeps insertion order). */
  pending: Map<number, Pending>
  /** When the last answers arrived. */
  answeredAt: number
  instances: Set<Hosted>
  modules: Map<string, number>
  queue: ToWorker[]
  flushing: boolean
  watchdog: ReturnType<typeof setTimeout> | null
  dead: boolean
}

interface Hosted {
  id: number
  key: string
  thread: Thread
  alive: boolean
}

const failed = (trap: TrapKind, message: string): AppCallResult => ({
  outcome: { ok: false, trap, message },
  fuelUsed: Number.NaN,
  memoryPages: Number.NaN,
  emits: [],
  logs: [],
  dropped: 0,
})

/** The worker's source: the runner and the worker body, as text. */
export function workerSource(bounds: RunnerBounds): string {
  return `'use strict';
const __name = (f) => f;
const createRunner = ${String(createRunner)};
(${String(browserWorkerMain)})(createRunner, ${JSON.stringify(bounds)}, self, ${REPLY_EVERY_MS});
`
}

export function createBrowserAppHost(options: BrowserAppHostOptions = {}): BrowserAppHost {
  const poolSize = Math.max(1, Math.floor(options.workers ?? 2))
  const bounds = options.bounds ?? DEFAULT_RUNNER_BOUNDS
  const url = URL.createObjectURL(new Blob([workerSource(bounds)], { type: 'text/javascript' }))
  let pool: Thread[] = []
  let nextSeq = 1
  let nextId = 1
  let closed = false
  const counts = { wallTimeouts: 0, hostRestarts: 0 }

  const spawn = (): Thread => {
    const worker = new Worker(url, { name: 'edgewatch-app' })
    const thread: Thread = {
      worker,
      pending: new Map(),
      answeredAt: 0,
      instances: new Set(),
      modules: new Map(),
      queue: [],
      flushing: false,
      watchdog: null,
      dead: false,
    }
    worker.onmessage = (e: MessageEvent<FromWorker[]>) => {
      thread.answeredAt = performance.now()
      for (const reply of e.data) {
        const p = thread.pending.get(reply.seq)
        if (!p) continue
        thread.pending.delete(reply.seq)
        p.resolve(reply)
      }
    }
    worker.onerror = (e) => {
      e.preventDefault()
      kill(thread, firstPending(thread), 'host_error', `the app worker failed: ${e.message}`)
    }
    pool.push(thread)
    return thread
  }

  const firstPending = (thread: Thread): number => {
    for (const seq of thread.pending.keys()) return seq
    return 0
  }

  /** Ends a thread: the call `culprit` gets `trap`, every other pending one host_restart. */
  const kill = (
    thread: Thread,
    culprit: number,
    trap: 'wall_timeout' | 'host_error' | 'host_restart',
    message: string,
  ) => {
    if (thread.dead) return
    thread.dead = true
    pool = pool.filter((t) => t !== thread)
    if (thread.watchdog) clearTimeout(thread.watchdog)
    thread.worker.terminate()
    const others = `its worker was restarted (${trap === 'wall_timeout' ? 'another app overran: ' : ''}${message})`
    const guilty = thread.pending.get(culprit)?.hosted
    if (trap !== 'host_restart')
      for (const hosted of thread.instances) if (hosted !== guilty) counts.hostRestarts += 1
    for (const [seq, p] of thread.pending) {
      const mine = seq === culprit
      const kind: TrapKind = mine ? trap : 'host_restart'
      const text = mine ? message : others
      p.resolve(
        p.kind === 'call'
          ? { seq, call: failed(kind, text) }
          : { seq, start: { ok: false, kind, message: text, permanent: false } },
      )
    }
    thread.pending.clear()
    for (const hosted of thread.instances) hosted.alive = false
    thread.instances.clear()
  }

  const watch = (thread: Thread) => {
    thread.watchdog = null
    if (thread.dead || thread.pending.size === 0) return
    const seq = firstPending(thread)
    const p = thread.pending.get(seq)!
    const startedBy = Math.max(p.sentAt, thread.answeredAt)
    const overdue = performance.now() - (startedBy + p.wallMs)
    if (overdue >= 0) {
      counts.wallTimeouts += 1
      return kill(thread, seq, 'wall_timeout', `no answer within ${p.wallMs} ms of wall time`)
    }
    thread.watchdog = setTimeout(() => watch(thread), Math.min(Math.ceil(-overdue) + 1, 250))
  }

  const send = (thread: Thread, message: ToWorker) => {
    thread.queue.push(message)
    if (thread.flushing) return
    thread.flushing = true
    queueMicrotask(() => {
      // After the other microtasks of this turn: the calls of every agent whose tick is due now.
      setTimeout(() => {
        thread.flushing = false
        const batch = thread.queue
        thread.queue = []
        if (thread.dead || batch.length === 0) return
        const sentAt = performance.now()
        for (const m of batch) {
          if (m.t === 'start' || m.t === 'call') {
            const p = thread.pending.get(m.seq)
            if (p) p.sentAt = sentAt
          }
        }
        thread.worker.postMessage(batch)
        if (!thread.watchdog && thread.pending.size > 0) watch(thread)
      }, 0)
    })
  }

  const request = (
    hosted: Hosted,
    message: ToWorker & { seq: number },
    kind: Pending['kind'],
    wallMs: number,
  ) =>
    new Promise<FromWorker>((resolve) => {
      const { thread } = hosted
      thread.pending.set(message.seq, { wallMs, kind, hosted, sentAt: Number.POSITIVE_INFINITY, resolve })
      send(thread, message)
    })

  const release = (hosted: Hosted) => {
    const { thread } = hosted
    if (thread.dead) return
    thread.instances.delete(hosted)
    send(thread, { t: 'stop', id: hosted.id })
    const users = (thread.modules.get(hosted.key) ?? 1) - 1
    if (users > 0) thread.modules.set(hosted.key, users)
    else {
      thread.modules.delete(hosted.key)
      send(thread, { t: 'unload', key: hosted.key })
    }
  }

  const pick = (): Thread => {
    if (pool.length < poolSize) return spawn()
    return pool.reduce((a, b) => (b.instances.size < a.instances.size ? b : a))
  }

  return {
    async start(spec) {
      if (closed) throw new AppStartError('host_error', 'the app host is closed', false)
      const { module } = spec
      const thread = pick()
      const hosted: Hosted = { id: nextId++, key: module.key, thread, alive: true }
      const loaded = thread.modules.has(module.key)
      thread.modules.set(module.key, (thread.modules.get(module.key) ?? 0) + 1)
      thread.instances.add(hosted)
      const reply = await request(
        hosted,
        {
          t: 'start',
          seq: nextSeq++,
          id: hosted.id,
          key: module.key,
          ...(loaded ? {} : { bytes: module.bytes }),
          memoryMin: module.memory.min,
          memoryMax: spec.memoryPages,
          channels: [...spec.channels],
        },
        'start',
        spec.wallMs,
      )
      const started = (reply as { start: RunnerStartResult }).start
      if (!started.ok) {
        release(hosted)
        hosted.alive = false
        throw new AppStartError(started.kind, started.message, started.permanent)
      }
      const instance: AppInstance = {
        async call(entry, input) {
          if (!hosted.alive || thread.dead)
            return failed('host_restart', 'the instance is gone (its worker was restarted)')
          const message = {
            t: 'call',
            seq: nextSeq++,
            id: hosted.id,
            entry,
            fuel: input.fuel,
            nowMs: input.nowMs,
            values: Array.from(input.values),
          } as const
          const answer = await request(hosted, message, 'call', input.wallMs)
          return (answer as { call: AppCallResult }).call
        },
        stop() {
          if (!hosted.alive) return
          hosted.alive = false
          release(hosted)
        },
      }
      return instance
    },

    close() {
      closed = true
      for (const thread of [...pool]) kill(thread, 0, 'host_restart', 'the app host closed')
      URL.revokeObjectURL(url)
    },

    counts: () => ({
      workers: pool.length,
      instances: pool.reduce((n, t) => n + t.instances.size, 0),
      ...counts,
    }),
  }
}
