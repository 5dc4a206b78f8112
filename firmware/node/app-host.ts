// The app host on Node: app instances run in worker threads, and a watchdog in this thread holds
// their wall time. Two shapes:
//
//   dedicated  one worker per instance (a real device, `edgewatch device`): an overrun kills that
//              worker and only that app's instance (wall_timeout).
//   pooled     N workers (default: the CPUs) shared by every instance (`edgewatch simulate`, 10 apps
//              on each of 1,000 devices in one process): messages to a worker sent in the same turn of
//              the event loop travel as one, so a fleet's aligned ticks cost a few messages. An overrun
//              kills the worker: the instance that overran gets wall_timeout, every other instance on it
//              host_restart (the manager restarts those at once without counting it against them).
//
// The watchdog: a worker writes the sequence number of what it runs, and when it started, into memory
// shared with this thread (app-worker.ts); while calls are pending, a timer here wakes at the running
// call's deadline and terminates the worker if the same call is still running. One timer per busy
// worker, whatever the number of instances.
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
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
import { type FromWorker, type ToWorker, type WorkerData, workerMain } from './app-worker.js'

export interface WorkerAppHostOptions {
  /** `dedicated` (default): a worker per instance; a number: a pool of that many workers. */
  workers?: 'dedicated' | number
  bounds?: RunnerBounds
  /** Each worker's JavaScript heap limit, MB (default 64 dedicated, 512 pooled; Wasm memories are outside it). */
  maxHeapMb?: number
}

export interface WorkerAppHost extends AppHost {
  /** Terminates every worker; instances answer host_restart from then on. */
  close(): Promise<void>
  /** Whether a start or call is waiting for its worker (tests hold a fake clock meanwhile). */
  busy(): boolean
  /**
   * Workers and instances alive; calls killed for overrunning wallMs; instances lost because their
   * worker was killed for another instance's overrun (or a worker failure).
   */
  counts(): { workers: number; instances: number; wallTimeouts: number; hostRestarts: number }
}

/** The worker's source: the runner and the worker body, as text (no file to find beside a bundle). */
const SOURCE = `'use strict';
const __name = (f) => f;
const createRunner = ${String(createRunner)};
(${String(workerMain)})(createRunner, require('node:worker_threads'));
`

interface Pending {
  wallMs: number
  kind: 'start' | 'call'
  hosted: Hosted
  resolve(reply: FromWorker): void
}

interface Thread {
  worker: Worker
  running: Int32Array
  startedAt: Float64Array
  pending: Map<number, Pending>
  /** Instances living here. */
  instances: Set<Hosted>
  /** Modules loaded here, and how many of its instances use each. */
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

const now = () => performance.timeOrigin + performance.now()
const failed = (trap: TrapKind, message: string): AppCallResult => ({
  outcome: { ok: false, trap, message },
  fuelUsed: Number.NaN,
  memoryPages: Number.NaN,
  emits: [],
  logs: [],
  dropped: 0,
})

export function createWorkerAppHost(options: WorkerAppHostOptions = {}): WorkerAppHost {
  const mode = options.workers ?? 'dedicated'
  const poolSize = mode === 'dedicated' ? 0 : Math.max(1, Math.floor(mode))
  const bounds = options.bounds ?? DEFAULT_RUNNER_BOUNDS
  const maxHeapMb = options.maxHeapMb ?? (mode === 'dedicated' ? 64 : 512)
  let pool: Thread[] = []
  const all = new Set<Thread>()
  let nextSeq = 1
  let nextId = 1
  let closed = false
  const counts = { wallTimeouts: 0, hostRestarts: 0 }

  const spawn = (): Thread => {
    const shared = new SharedArrayBuffer(16)
    const data: WorkerData = { bounds, shared }
    const worker = new Worker(SOURCE, {
      eval: true,
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
    })
    worker.unref() // pending calls keep the process alive through their watchdog timer
    const thread: Thread = {
      worker,
      running: new Int32Array(shared, 0, 1),
      startedAt: new Float64Array(shared, 8, 1),
      pending: new Map(),
      instances: new Set(),
      modules: new Map(),
      queue: [],
      flushing: false,
      watchdog: null,
      dead: false,
    }
    worker.on('message', (replies: FromWorker[]) => {
      for (const reply of replies) {
        const p = thread.pending.get(reply.seq)
        if (!p) continue
        thread.pending.delete(reply.seq)
        p.resolve(reply)
      }
    })
    const lost = (why: string) => kill(thread, Atomics.load(thread.running, 0), 'host_error', why)
    worker.on('error', (e) => lost(`the app worker failed: ${e.message}`))
    worker.on('exit', (code) => lost(`the app worker exited (${code})`))
    all.add(thread)
    return thread
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
    all.delete(thread)
    pool = pool.filter((t) => t !== thread)
    if (thread.watchdog) clearTimeout(thread.watchdog)
    void thread.worker.terminate()
    const others = `its worker was restarted (${trap === 'wall_timeout' ? 'another app overran: ' : ''}${message})`
    // Stopping the last instance of a dedicated worker, or closing the host, costs no app anything.
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
    const seq = Atomics.load(thread.running, 0)
    const p = seq === 0 ? undefined : thread.pending.get(seq)
    if (p) {
      const overdue = now() - (thread.startedAt[0]! + p.wallMs)
      if (overdue >= 0) {
        counts.wallTimeouts += 1
        return kill(thread, seq, 'wall_timeout', `no answer within ${p.wallMs} ms of wall time`)
      }
      thread.watchdog = setTimeout(() => watch(thread), Math.ceil(-overdue) + 1)
      return
    }
    // Nothing of ours runs yet (the batch is on its way, or between two calls): look again soon.
    let soonest = Number.POSITIVE_INFINITY
    for (const q of thread.pending.values()) soonest = Math.min(soonest, q.wallMs)
    thread.watchdog = setTimeout(() => watch(thread), Math.max(1, Math.min(soonest, 50)))
  }

  const send = (thread: Thread, message: ToWorker) => {
    thread.queue.push(message)
    if (thread.flushing) return
    thread.flushing = true
    setImmediate(() => {
      thread.flushing = false
      const batch = thread.queue
      thread.queue = []
      if (thread.dead || batch.length === 0) return
      thread.worker.postMessage(batch)
      if (!thread.watchdog && thread.pending.size > 0) watch(thread)
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
      thread.pending.set(message.seq, { wallMs, kind, hosted, resolve })
      send(thread, message)
    })

  const release = (hosted: Hosted) => {
    const { thread } = hosted
    if (mode === 'dedicated') return kill(thread, 0, 'host_restart', 'stopped')
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
    if (mode === 'dedicated') return spawn()
    if (pool.length < poolSize) {
      const thread = spawn()
      pool.push(thread)
      return thread
    }
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
      const seq = nextSeq++
      const reply = await request(
        hosted,
        {
          t: 'start',
          seq,
          id: hosted.id,
          key: module.key,
          ...(loaded ? {} : { bytes: module.bytes }),
          memoryMin: module.memory.min,
          memoryMax: spec.memoryPages,
          channels: spec.channels,
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
          const seq = nextSeq++
          const values = Array.from(input.values)
          const message = {
            t: 'call',
            seq,
            id: hosted.id,
            entry,
            fuel: input.fuel,
            nowMs: input.nowMs,
            values,
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

    async close() {
      closed = true
      const threads = [...all]
      for (const thread of threads) kill(thread, 0, 'host_restart', 'the app host closed')
      await Promise.all(threads.map((t) => t.worker.terminate()))
    },

    busy: () => [...all].some((t) => t.pending.size > 0 || t.queue.length > 0),

    counts: () => ({
      workers: all.size,
      instances: [...all].reduce((n, t) => n + t.instances.size, 0),
      ...counts,
    }),
  }
}

/** The default pool size: one worker per CPU. */
export const defaultPoolSize = (): number => availableParallelism()
