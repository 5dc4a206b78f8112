// The body of an app worker thread: it runs the messages its parent sends, in order, with the core's
// runner (firmware/agent/apps/runner.ts), and answers them in batches. Before each start or call it
// writes the call's sequence number and its start time into memory shared with the parent, which is
// all the parent's watchdog needs to know what runs and since when (app-host.ts).
//
// Like createRunner, workerMain is ONE self-contained function (types are its only imports): the
// parent starts the worker from their source text, so no file has to exist beside the bundle.
import type { Runner, RunnerBounds, RunnerStartResult } from '../agent/apps/runner.js'

import type { FromWorker, ToWorker } from '../agent/apps/worker-protocol.js'

export type { FromWorker, ToWorker }

export interface WorkerData {
  bounds: RunnerBounds
  /** Int32 [0]: the sequence number running (0: none); Float64 at byte 8: when it started (epoch ms). */
  shared: SharedArrayBuffer
}

export function workerMain(
  createRunnerFn: (bounds: RunnerBounds) => Runner,
  threads: typeof import('node:worker_threads'),
): void {
  const port = threads.parentPort!
  const data = threads.workerData as WorkerData
  const running = new Int32Array(data.shared, 0, 1)
  const startedAt = new Float64Array(data.shared, 8, 1)
  const runner = createRunnerFn(data.bounds)
  const compileErrors = new Map<string, string>()
  const now = () => performance.timeOrigin + performance.now()
  /** Answers go back at the end of each batch, and every this many ms during a long one. */
  const replyEveryMs = 20

  const begin = (seq: number) => {
    startedAt[0] = now()
    Atomics.store(running, 0, seq)
  }
  const end = () => Atomics.store(running, 0, 0)

  port.on('message', (batch: ToWorker[]) => {
    let replies: FromWorker[] = []
    let postedAt = now()
    for (const m of batch) {
      if (m.t === 'call') {
        begin(m.seq)
        const call = runner.call(m)
        end()
        replies.push({ seq: m.seq, call })
      } else if (m.t === 'start') {
        begin(m.seq)
        if (m.bytes) {
          const error = runner.load(m.key, m.bytes)
          if (error === null) compileErrors.delete(m.key)
          else compileErrors.set(m.key, error)
        }
        const error = compileErrors.get(m.key)
        const start: RunnerStartResult = error
          ? { ok: false, kind: 'link', message: `the module does not compile: ${error}`, permanent: true }
          : runner.start(m)
        end()
        replies.push({ seq: m.seq, start })
      } else if (m.t === 'stop') {
        runner.stop(m.id)
      } else {
        runner.unload(m.key)
        compileErrors.delete(m.key)
      }
      if (replies.length > 0 && now() - postedAt >= replyEveryMs) {
        port.postMessage(replies)
        replies = []
        postedAt = now()
      }
    }
    if (replies.length > 0) port.postMessage(replies)
  })
}
