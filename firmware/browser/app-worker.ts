// The body of a browser app worker: it runs the messages its host sends, in order, with the core's
// runner (firmware/agent/apps/runner.ts), and answers them in batches (at the end of each batch, and
// every `replyEveryMs` during a long one). Unlike Node's, a browser page is not cross-origin isolated
// by default, so there is no SharedArrayBuffer to say what runs: the host's watchdog infers it from
// the order of the answers instead (app-host.ts).
//
// Like createRunner, workerMain is ONE self-contained function (types are its only imports): the host
// starts the worker from their source text, in a Blob, so no file has to exist beside the bundle.
import type { Runner, RunnerBounds, RunnerStartResult } from '../agent/apps/runner.js'

import type { FromWorker, ToWorker } from '../agent/apps/worker-protocol.js'

export type { FromWorker, ToWorker }

/** The part of a worker's global scope the body uses. */
export interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker[]>) => void) | null
  postMessage(message: FromWorker[]): void
}

export function browserWorkerMain(
  createRunnerFn: (bounds: RunnerBounds) => Runner,
  bounds: RunnerBounds,
  scope: WorkerScope,
  replyEveryMs: number,
): void {
  const runner = createRunnerFn(bounds)
  const compileErrors = new Map<string, string>()
  scope.onmessage = (e) => {
    let replies: FromWorker[] = []
    let postedAt = performance.now()
    for (const m of e.data) {
      if (m.t === 'call') {
        replies.push({ seq: m.seq, call: runner.call(m) })
      } else if (m.t === 'start') {
        if (m.bytes) {
          const error = runner.load(m.key, m.bytes)
          if (error === null) compileErrors.delete(m.key)
          else compileErrors.set(m.key, error)
        }
        const error = compileErrors.get(m.key)
        const start: RunnerStartResult = error
          ? { ok: false, kind: 'link', message: `the module does not compile: ${error}`, permanent: true }
          : runner.start(m)
        replies.push({ seq: m.seq, start })
      } else if (m.t === 'stop') {
        runner.stop(m.id)
      } else {
        runner.unload(m.key)
        compileErrors.delete(m.key)
      }
      if (replies.length > 0 && performance.now() - postedAt >= replyEveryMs) {
        scope.postMessage(replies)
        replies = []
        postedAt = performance.now()
      }
    }
    if (replies.length > 0) scope.postMessage(replies)
  }
}
