// The app ABI, version 1 (firmware/apps/ABI.md): what an app may import and must export, in one
// place for the server that validates uploads and the agent that links and runs apps.
import type { FuncType } from './parse.js'

export const ABI_VERSION = 1

/** An app's size limit when the release sets none. */
export const DEFAULT_MAX_APP_BYTES = 256 * 1024

/** The one memory import: the host creates it, with the release's page limit as maximum. */
export const MEMORY_IMPORT = { module: 'env', name: 'memory' } as const

/** The functions an app may import (each optional), with the only signature each may have. */
export const HOST_FUNCTIONS: Readonly<Record<string, Readonly<Record<string, FuncType>>>> = {
  env: {
    // What AssemblyScript emits for abort(); the host traps.
    abort: { params: ['i32', 'i32', 'i32', 'i32'], results: [] },
  },
  edgewatch: {
    now_ms: { params: [], results: ['f64'] },
    sensor_count: { params: [], results: ['i32'] },
    sensor_read: { params: ['i32'], results: ['f64'] },
    sensor_name: { params: ['i32', 'i32', 'i32'], results: ['i32'] },
    emit: { params: ['i32', 'i32', 'f64'], results: [] },
    log: { params: ['i32', 'i32', 'i32'], results: [] },
  },
}

/** The exports the host calls, with their signatures; only `tick` is required. Other exports are ignored. */
export const APP_EXPORTS: Readonly<Record<string, { type: FuncType; required: boolean }>> = {
  // AssemblyScript's start function, exported by `asc --exportStart _initialize` (a start section is
  // refused): the host calls it once, metered, right after instantiation.
  _initialize: { type: { params: [], results: [] }, required: false },
  init: { type: { params: [], results: ['i32'] }, required: false },
  tick: { type: { params: [], results: ['i32'] }, required: true },
}

/** Export names an app may not use: the metering transform adds `__edgewatch_fuel`. */
export const RESERVED_PREFIX = '__edgewatch_'

/** `(i32, f64) -> i32`, `() -> ()`. */
export function formatType(t: FuncType): string {
  const results = t.results.length === 1 ? t.results[0]! : `(${t.results.join(', ')})`
  return `(${t.params.join(', ')}) -> ${results}`
}

export function sameType(a: FuncType, b: FuncType): boolean {
  return (
    a.params.length === b.params.length &&
    a.results.length === b.results.length &&
    a.params.every((p, i) => p === b.params[i]) &&
    a.results.every((p, i) => p === b.results[i])
  )
}
