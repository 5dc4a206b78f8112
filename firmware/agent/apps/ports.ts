// The app runtime's ports: where app instances run (AppHost) and where module bytes are kept
// (AppStore). The core never touches threads or workers: a host gives it instances that answer calls.
// firmware/node/app-host.ts runs them in worker threads (one per app, or a pool of them);
// inline-host.ts runs them on the caller's thread (no wall-clock watchdog: tests, hosts without threads).

/** A module ready to instantiate: metered, checked, with what the host needs to link it. */
export interface PreparedModule {
  /** Names the module for caches (the sha256 of the release's bytes). */
  key: string
  /** The metered bytes. */
  bytes: Uint8Array
  /** The memory it imports: its declared minimum, and maximum (null: none declared). */
  memory: { min: number; max: number | null }
  /** Whether it exports init(). */
  init: boolean
}

export interface AppStartSpec {
  module: PreparedModule
  /** The memory's maximum (the release's memoryPages, or the module's own maximum if lower). */
  memoryPages: number
  /** How long instantiation may take, ms of wall time. */
  wallMs: number
  /** The sensor's channel names, in the order of every call's `values`. */
  channels: readonly string[]
}

export interface AppCallInput {
  /** What now_ms() answers during the call (the scheduled time of the tick). */
  nowMs: number
  /** Fuel for this call: __edgewatch_fuel is set to it before the call. */
  fuel: number
  /** Wall-clock budget, ms: past it the host kills the call (wall_timeout). */
  wallMs: number
  /** The latest reading, one value per channel (NaN: none). */
  values: readonly number[]
}

/**
 * Why a call did not return. `host_restart` is the host's doing (the worker it shared with another
 * app was killed for that app's overrun): it does not count against the app.
 */
export type TrapKind =
  | 'fuel_exhausted'
  | 'wall_timeout'
  | 'abort'
  | 'trap'
  | 'stack_overflow'
  | 'host_restart'
  | 'host_error'

export type AppOutcome = { ok: true; result: number } | { ok: false; trap: TrapKind; message: string }

export interface AppLog {
  /** 0 debug, 1 info, 2 warn, 3 error (others are kept as given). */
  level: number
  message: string
}

export interface AppCallResult {
  outcome: AppOutcome
  /** The fuel set before the call minus what was left after it (the same on every host). */
  fuelUsed: number
  /** The memory's size after the call, pages. */
  memoryPages: number
  /** emit() calls, in order (none when the call trapped). Bounded per call. */
  emits: Array<[name: string, value: number]>
  /** log() calls, in order, bounded in number and length. */
  logs: AppLog[]
  /** emit() and log() calls past the bounds (or with unreadable names), not kept. */
  dropped: number
}

export interface AppInstance {
  /** Calls init() (when the module exports it) or tick(). One call at a time. */
  call(entry: 'init' | 'tick', input: AppCallInput): Promise<AppCallResult>
  /** Frees the instance; later calls answer host_restart. */
  stop(): void
}

/** Why an instance could not start. `permanent`: starting again cannot help (the module is wrong). */
export class AppStartError extends Error {
  override name = 'AppStartError'
  constructor(
    readonly kind:
      | 'link'
      | 'memory'
      | 'not_metered'
      | 'wall_timeout'
      | 'trap'
      | 'host_restart'
      | 'host_error',
    message: string,
    readonly permanent: boolean,
  ) {
    super(message)
  }
}

export interface AppHost {
  /** Instantiates the module (running its start function, if any). Throws AppStartError. */
  start(spec: AppStartSpec): Promise<AppInstance>
}

/** Module bytes kept across restarts, by the lower-case hex sha256 of the bytes. */
export interface AppStore {
  put(sha256: string, bytes: Uint8Array): Promise<void>
  /** The bytes, or null when absent (or no longer matching their sha256). */
  get(sha256: string): Promise<Uint8Array | null>
  delete(sha256: string): Promise<void>
  list(): Promise<string[]>
}
