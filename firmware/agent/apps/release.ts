// What the server asks a device to run (a release of an app, with its limits), and what the device
// says back about each one. The server sends the desired set in every heartbeat answer (`apps`); the
// agent reports its apps in every heartbeat body (`apps`). Both shapes are the wire protocol.
import { DEFAULT_MAX_APP_BYTES } from '../../apps/wasm/abi.js'

export interface AppLimits {
  /** The memory's maximum, in 64 KiB pages: memory.grow past it returns -1. */
  memoryPages: number
  /** Instructions (metered units) one tick or init may spend; past it the app traps (fuel_exhausted). */
  fuel: number
  /** A tick every this many ms. */
  tickMs: number
  /** A tick that has not answered after this many ms of wall time is killed (wall_timeout). */
  wallMs: number
  /** Restarts after traps before the app is failed. */
  maxRestarts: number
}

/** `add`: the app's metrics travel beside the raw readings; `replace`: instead of them while it runs. */
export type Telemetry = 'add' | 'replace'

export interface AppRelease {
  appId: string
  name: string
  version: string
  /** Lower-case hex sha256 of the module's bytes. */
  sha256: string
  size: number
  deploymentId: string
  limits: AppLimits
  telemetry: Telemetry
}

export const APP_STATES = [
  'pending',
  'downloading',
  'starting',
  'running',
  'failed',
  'stopped',
  'rolled_back',
] as const
export type AppState = (typeof APP_STATES)[number]

/** One app as a heartbeat reports it. */
export interface AppReport {
  appId: string
  name: string
  version: string
  deploymentId: string
  state: AppState
  /** Ticks run by this release (every instance, restarts included). */
  ticks: number
  /** Fuel the last tick used; null before the first tick. */
  fuelPerTick: number | null
  /** The most fuel a tick used. */
  fuelMax: number | null
  /** The memory's size after the last call, in pages. */
  memoryPages: number | null
  restarts: number
  /** Ticks that answered a non-zero result (the app's own errors; it keeps running). */
  errors: number
  /** Why it failed, or why it last restarted. */
  reason: string | null
  /** clock.now() when it entered this state. */
  since: number
}

/** What the agent accepts in a release, whatever the server says. */
export interface ReleaseBounds {
  /** Largest module, bytes (default: the ABI's 256 KiB). */
  maxModuleBytes: number
  /** Largest memory a release may allow, pages (default 256: 16 MiB). */
  maxMemoryPages: number
  /** Shortest tick interval (default 10 ms). */
  minTickMs: number
  /** Longest wall-clock budget of a tick (default 60 s). */
  maxWallMs: number
}

export const DEFAULT_BOUNDS: ReleaseBounds = {
  maxModuleBytes: DEFAULT_MAX_APP_BYTES,
  maxMemoryPages: 256,
  minTickMs: 10,
  maxWallMs: 60_000,
}

/** What is known of a release that cannot run, to report it failed. */
export interface Refused {
  appId: string
  name: string
  version: string
  deploymentId: string
  reason: string
}

export type Parsed = { ok: true; release: AppRelease } | ({ ok: false } & Refused)

const HEX64 = /^[0-9a-f]{64}$/
const isInt = (x: unknown, min: number, max: number): x is number =>
  typeof x === 'number' && Number.isSafeInteger(x) && x >= min && x <= max
const str = (x: unknown, max = 200): x is string => typeof x === 'string' && x.length > 0 && x.length <= max

/**
 * One entry of a heartbeat answer's `apps`. An entry without a usable appId and name is null (it
 * cannot even be reported); any other problem makes a release that is reported failed with the reason.
 */
export function parseRelease(entry: unknown, bounds: ReleaseBounds): Parsed | null {
  if (typeof entry !== 'object' || entry === null) return null
  const e = entry as Record<string, unknown>
  // Ids and names are short (a heartbeat is at most 8 KiB); an entry with a longer one is not used.
  if (!str(e.appId, 64) || !str(e.name, 64)) return null
  const text = (x: unknown) => (typeof x === 'string' ? x.slice(0, 64) : '')
  const refuse = (reason: string): Parsed => ({
    ok: false,
    appId: e.appId as string,
    name: e.name as string,
    version: text(e.version),
    deploymentId: text(e.deploymentId),
    reason,
  })
  const l = (e.limits ?? {}) as Record<string, unknown>
  if (!str(e.version, 64)) return refuse('invalid release: version')
  if (typeof e.sha256 !== 'string' || !HEX64.test(e.sha256.toLowerCase()))
    return refuse('invalid release: sha256')
  if (!isInt(e.size, 8, Number.MAX_SAFE_INTEGER)) return refuse('invalid release: size')
  if (e.size > bounds.maxModuleBytes) {
    return refuse(`module too large: ${e.size} bytes, this device takes at most ${bounds.maxModuleBytes}`)
  }
  if (!isInt(l.memoryPages, 1, 65536)) return refuse('invalid release: limits.memoryPages')
  if (l.memoryPages > bounds.maxMemoryPages) {
    return refuse(`memoryPages ${l.memoryPages} exceeds this device's ${bounds.maxMemoryPages}`)
  }
  if (!isInt(l.fuel, 1, Number.MAX_SAFE_INTEGER)) return refuse('invalid release: limits.fuel')
  if (!isInt(l.tickMs, bounds.minTickMs, 86_400_000))
    return refuse(`invalid release: limits.tickMs (≥ ${bounds.minTickMs})`)
  if (!isInt(l.wallMs, 1, bounds.maxWallMs))
    return refuse(`invalid release: limits.wallMs (1-${bounds.maxWallMs})`)
  if (!isInt(l.maxRestarts, 0, 1_000_000)) return refuse('invalid release: limits.maxRestarts')
  const telemetry = e.telemetry ?? 'add'
  if (telemetry !== 'add' && telemetry !== 'replace') return refuse('invalid release: telemetry')
  return {
    ok: true,
    release: {
      appId: e.appId,
      name: e.name,
      version: e.version,
      sha256: e.sha256.toLowerCase(),
      size: e.size,
      deploymentId: text(e.deploymentId),
      limits: {
        memoryPages: l.memoryPages,
        fuel: l.fuel,
        tickMs: l.tickMs,
        wallMs: l.wallMs,
        maxRestarts: l.maxRestarts,
      },
      telemetry,
    },
  }
}
