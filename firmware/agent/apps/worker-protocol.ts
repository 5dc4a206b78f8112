// What an app host says to the worker threads that run apps, and what they answer: the same on Node
// (worker_threads, firmware/node/app-worker.ts) and in a browser (Web Workers, firmware/browser/app-worker.ts).
import type { AppCallResult } from './ports.js'
import type { RunnerStartResult } from './runner.js'

export type ToWorker =
  | {
      t: 'start'
      seq: number
      id: number
      key: string
      /** Only when this worker has not the module yet: it compiles it first. */
      bytes?: Uint8Array
      memoryMin: number
      memoryMax: number
      channels: readonly string[]
    }
  | {
      t: 'call'
      seq: number
      id: number
      entry: 'init' | 'tick'
      fuel: number
      nowMs: number
      values: readonly number[]
    }
  | { t: 'stop'; id: number }
  | { t: 'unload'; key: string }

export type FromWorker = { seq: number; start: RunnerStartResult } | { seq: number; call: AppCallResult }
