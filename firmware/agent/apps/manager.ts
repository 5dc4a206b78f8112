// The app manager: makes what runs match what the server wants. Every heartbeat answer carries the
// desired set (`apps`: absent keeps what runs, present is exactly the set); each app name has at most
// one release at a time, and each release its own loop:
//
//   pending → downloading (unless its bytes are cached) → starting (checked, metered, instantiated,
//   init) → running (a tick every tickMs) → on a trap: starting again after 1 s, 2 s, 4 s … (60 s at
//   most), up to maxRestarts in a row, then failed with the reason
//
// A release replaced by another version is stopped; one replaced by the release it had replaced is
// `rolled_back`: both are reported once more, then forgotten. Module bytes stay in the store by sha256,
// so going back to a release this device ran (its last known good one) starts at once, without a
// download. Ticks see the latest sensor reading; what they emit becomes records the sampler puts into
// its batches; a running `replace` app stops raw readings from being recorded.
import { type BackoffPolicy, DEFAULT_BACKOFF, retryDelay } from '../backoff.js'
import type { Clock } from '../ports.js'
import type { Download } from './download.js'
import {
  type AppCallResult,
  type AppHost,
  type AppInstance,
  AppStartError,
  type AppStore,
  type PreparedModule,
} from './ports.js'
import { AppRefused, prepareModule } from './prepare.js'
import {
  type AppRelease,
  type AppReport,
  type AppState,
  DEFAULT_BOUNDS,
  type Parsed,
  parseRelease,
  type ReleaseBounds,
} from './release.js'

export type AppEvent =
  | { type: 'app'; name: string; appId: string; version: string; state: AppState; reason: string | null }
  | { type: 'app-log'; name: string; appId: string; level: number; message: string }

/** What an app's tick emitted, as one record's metrics. */
export interface AppRecord {
  ts: number
  values: Record<string, number>
}

export interface AppManagerOptions {
  /** Where instances run; null: this agent runs no apps (each desired app is reported failed). */
  host: AppHost | null
  clock: Clock
  store: AppStore
  /** Fetches a release's bytes, verified against its sha256 (download.ts). */
  download(release: AppRelease, maxBytes: number, signal: AbortSignal): Promise<Download>
  /** The sensor's channels: sensor_read(i) reads channels[i]. */
  channels: readonly string[]
  emit(event: AppEvent): void
  bounds?: Partial<ReleaseBounds>
  /** Waits between download attempts (default: the agent's backoff, capped at 60 s). */
  retry?: BackoffPolicy
  /** Restart waits: base × 2^(n−1), at most cap (default 1 s, 60 s). */
  restart?: { baseMs: number; capMs: number }
  /** An instance that ran this long before it trapped starts the count of restarts in a row over (default 60 s). */
  healthyMs?: number
  /** Apps taken from one desired set (default 16): heartbeats stay small. */
  maxApps?: number
  /** Emitted records waiting for the sampler (default 10,000); past it the oldest are dropped, counted. */
  maxRecords?: number
  /** Modules kept in the store before the ones no release needs are deleted (default 16). */
  maxCachedModules?: number
}

export interface AppCounters {
  /** Emitted records dropped because the sampler did not take them in time. */
  recordsDropped: number
  /** emit() and log() calls not kept: past the per-call bounds, or an unusable metric name or value. */
  callsDropped: number
}

export interface AppManager {
  /** A heartbeat answer's `apps` (anything else than an array is ignored: keep what runs). */
  desire(apps: unknown): void
  /** The latest sensor reading, for the ticks to come. */
  reading(values: Record<string, number>): void
  /** Emitted records since the last call, oldest first. */
  takeRecords(): AppRecord[]
  /** Whether raw readings are withheld now (a `replace` app is running). */
  replacesReadings(): boolean
  /**
   * Every app for a heartbeat: those stopped or rolled back since the last report (as many as fit in
   * about 6 KB of JSON; the others come in a later report), then the current ones.
   */
  report(): AppReport[]
  /** The server took this report: its stopped and rolled-back entries are not sent again. */
  reported(sent: readonly AppReport[]): void
  counters(): AppCounters
  /** Stops every app and waits for their loops. */
  stop(): Promise<void>
}

interface Slot {
  /** Null: the server's entry could not be used (reported failed). */
  release: AppRelease | null
  report: AppReport
  /** The release this one replaced, to tell a rollback. */
  replaced: AppRelease | null
  controller: AbortController
}

/** Why an instance ended. */
interface End {
  kind: string
  message: string
  permanent: boolean
  /** It ran long enough that its restarts in a row start over. */
  healthy: boolean
}

const RESERVED = new Set(['deviceId', 'ts', 'level', 'msg', 'metrics'])
const MAX_DEPARTED = 8
/** JSON bytes of a report with departed entries in it (the server takes heartbeats of up to 8 KiB). */
const REPORT_BUDGET = 6000
const MAX_REASON = 160
/** Instantiation (compiling the module in a fresh worker) gets at least this long. */
const START_WALL_MS = 10_000

export function createAppManager(o: AppManagerOptions): AppManager {
  const { clock, host } = o
  const bounds: ReleaseBounds = { ...DEFAULT_BOUNDS, ...o.bounds }
  const retry = o.retry ?? { ...DEFAULT_BACKOFF, baseMs: 1000, capMs: 60_000 }
  const restart = o.restart ?? { baseMs: 1000, capMs: 60_000 }
  const healthyMs = o.healthyMs ?? 60_000
  const maxApps = o.maxApps ?? 16
  const maxRecords = o.maxRecords ?? 10_000
  const maxCached = o.maxCachedModules ?? 16
  const slots = new Map<string, Slot>()
  const lastGood = new Map<string, AppRelease>()
  const loops = new Set<Promise<void>>()
  let departed: AppReport[] = []
  let records: AppRecord[] = []
  let latest: number[] = o.channels.map(() => Number.NaN)
  const counters: AppCounters = { recordsDropped: 0, callsDropped: 0 }
  let stopped = false

  const set = (slot: Slot, state: AppState, reason: string | null = slot.report.reason) => {
    // A retired slot's loop may still be winding down: only its retirement is reported.
    if (slot.controller.signal.aborted && state !== 'stopped' && state !== 'rolled_back') return
    const r = slot.report
    const cut = reason === null ? null : reason.slice(0, MAX_REASON)
    if (r.state === state && r.reason === cut) return
    if (r.state !== state) r.since = clock.now()
    r.state = state
    r.reason = cut
    o.emit({ type: 'app', name: r.name, appId: r.appId, version: r.version, state, reason: cut })
  }

  const newSlot = (
    release: AppRelease | null,
    ids: { appId: string; name: string; version: string; deploymentId: string },
    replaced: AppRelease | null,
  ): Slot => ({
    release,
    replaced,
    controller: new AbortController(),
    report: {
      appId: ids.appId,
      name: ids.name,
      version: ids.version,
      deploymentId: ids.deploymentId,
      state: 'pending',
      ticks: 0,
      fuelPerTick: null,
      fuelMax: null,
      memoryPages: null,
      restarts: 0,
      errors: 0,
      reason: null,
      since: clock.now(),
    },
  })

  const track = (promise: Promise<void>) => {
    loops.add(promise)
    void promise.finally(() => loops.delete(promise))
  }

  const launch = (slot: Slot) => {
    const release = slot.release!
    o.emit({
      type: 'app',
      name: release.name,
      appId: release.appId,
      version: release.version,
      state: 'pending',
      reason: null,
    })
    track(run(slot, release, slot.controller.signal))
  }

  /** Ends a slot's loop; `as` reports it once more (null: silently, it is started again as it was). */
  const retire = (slot: Slot, as: 'stopped' | 'rolled_back' | null) => {
    slot.controller.abort(new Error('retired'))
    if (as === null) return
    set(slot, as)
    departed.push({ ...slot.report })
    if (departed.length > MAX_DEPARTED) departed = departed.slice(-MAX_DEPARTED)
  }

  // ---- one release's life --------------------------------------------------------------------------

  const run = async (slot: Slot, r: AppRelease, signal: AbortSignal): Promise<void> => {
    try {
      if (!host) return set(slot, 'failed', 'this agent runs no apps (no app host)')
      const module = await obtain(slot, r, signal)
      if (module) await supervise(slot, r, module, signal)
    } catch (e) {
      if (signal.aborted) return
      set(slot, 'failed', `internal error: ${e instanceof Error ? e.message : String(e)}`)
    }
  }

  /** The release's module: cached, or downloaded and verified; then checked and metered. */
  const obtain = async (slot: Slot, r: AppRelease, signal: AbortSignal): Promise<PreparedModule | null> => {
    let bytes = await o.store.get(r.sha256).catch(() => null)
    if (!bytes) {
      set(slot, 'downloading')
      for (let failures = 0; !bytes; failures++) {
        const got = await o.download(r, bounds.maxModuleBytes, signal)
        signal.throwIfAborted()
        if (got.kind === 'failed') {
          set(slot, 'failed', got.reason)
          return null
        }
        if (got.kind === 'bytes') {
          bytes = got.bytes
          break
        }
        set(slot, 'downloading', got.reason)
        await clock.sleep(retryDelay(failures, got.retryAfter, clock.now(), retry), signal)
      }
      await o.store.put(r.sha256, bytes).catch(() => {}) // not kept: downloaded again next time
      await collect()
    }
    set(slot, 'starting', null)
    try {
      return prepareModule(bytes, r, bounds.maxModuleBytes)
    } catch (e) {
      if (!(e instanceof AppRefused)) throw e
      set(slot, 'failed', e.message)
      return null
    }
  }

  /** Runs instance after instance, with backoff between them, until failed or retired. */
  const supervise = async (slot: Slot, r: AppRelease, module: PreparedModule, signal: AbortSignal) => {
    let inARow = 0
    for (;;) {
      const end = await runInstance(slot, r, module, signal)
      const reason = `${end.kind}: ${end.message}`
      if (end.permanent) return set(slot, 'failed', reason)
      if (end.kind === 'host_restart') {
        // Its worker was killed for another app's overrun: not this app's fault, not counted.
        set(slot, 'starting', reason)
        await clock.sleep(0, signal)
        continue
      }
      inARow = end.healthy ? 1 : inARow + 1
      if (inARow > r.limits.maxRestarts) return set(slot, 'failed', reason)
      slot.report.restarts += 1
      set(slot, 'starting', reason)
      await clock.sleep(Math.min(restart.capMs, restart.baseMs * 2 ** (inARow - 1)), signal)
    }
  }

  const runInstance = async (slot: Slot, r: AppRelease, module: PreparedModule, signal: AbortSignal) => {
    const { limits } = r
    let instance: AppInstance
    try {
      instance = await host!.start({
        module,
        memoryPages: module.memory.max ?? limits.memoryPages,
        wallMs: Math.max(START_WALL_MS, limits.wallMs),
        channels: o.channels,
      })
    } catch (e) {
      if (!(e instanceof AppStartError)) throw e
      return { kind: e.kind, message: e.message, permanent: e.permanent, healthy: false } satisfies End
    }
    const input = (nowMs: number) => ({ nowMs, fuel: limits.fuel, wallMs: limits.wallMs, values: latest })
    try {
      signal.throwIfAborted()
      if (module.init) {
        const at = clock.now()
        const res = await instance.call('init', input(at))
        signal.throwIfAborted()
        account(slot, res, 'init', at)
        if (!res.outcome.ok)
          return { kind: res.outcome.trap, message: res.outcome.message, permanent: false, healthy: false }
        if (res.outcome.result !== 0) {
          return {
            kind: 'init_failed',
            message: `init() answered ${res.outcome.result}`,
            permanent: false,
            healthy: false,
          }
        }
      }
      // The first tick runs at once: an app is `running` (and the release this device's last known
      // good) only once a tick has returned, so a release that traps on its first tick never shows
      // running, and a deployment cannot count it as done. Then ticks come at multiples of tickMs:
      // the apps of a device (and of a simulated fleet) tick together, so a pooled host gets their
      // calls in one message.
      let runningSince: number | null = null
      let next = clock.now()
      for (;;) {
        await clock.sleep(Math.max(0, next - clock.now()), signal)
        const res = await instance.call('tick', input(next))
        signal.throwIfAborted()
        account(slot, res, 'tick', next)
        if (!res.outcome.ok) {
          const healthy = runningSince !== null && clock.now() - runningSince >= healthyMs
          return { kind: res.outcome.trap, message: res.outcome.message, permanent: false, healthy }
        }
        if (runningSince === null) {
          runningSince = clock.now()
          set(slot, 'running')
          lastGood.set(r.name, r)
          next = Math.floor(next / limits.tickMs) * limits.tickMs
        }
        next += limits.tickMs
        const now = clock.now()
        if (next <= now) next += (Math.floor((now - next) / limits.tickMs) + 1) * limits.tickMs
      }
    } finally {
      instance.stop()
    }
  }

  const account = (slot: Slot, res: AppCallResult, entry: 'init' | 'tick', at: number) => {
    const rep = slot.report
    rep.memoryPages = res.memoryPages
    if (entry === 'tick') {
      rep.ticks += 1
      rep.fuelPerTick = res.fuelUsed
      rep.fuelMax = Math.max(rep.fuelMax ?? 0, res.fuelUsed)
      if (res.outcome.ok && res.outcome.result !== 0) rep.errors += 1
    }
    counters.callsDropped += res.dropped
    for (const log of res.logs) {
      o.emit({ type: 'app-log', name: rep.name, appId: rep.appId, level: log.level, message: log.message })
    }
    if (res.emits.length === 0) return
    const values: Record<string, number> = {}
    let any = false
    for (const [name, value] of res.emits) {
      if (RESERVED.has(name) || !Number.isFinite(value)) {
        counters.callsDropped += 1
        continue
      }
      values[name] = value
      any = true
    }
    if (!any) return
    records.push({ ts: Math.round(at), values })
    if (records.length > maxRecords) {
      counters.recordsDropped += records.length - maxRecords
      records = records.slice(-maxRecords)
    }
  }

  /** Deletes cached modules no release here needs, once there are more than maxCached. */
  const collect = async () => {
    try {
      const all = await o.store.list()
      if (all.length <= maxCached) return
      const keep = new Set<string>()
      for (const slot of slots.values()) {
        if (slot.release) keep.add(slot.release.sha256)
        if (slot.replaced) keep.add(slot.replaced.sha256)
      }
      for (const r of lastGood.values()) keep.add(r.sha256)
      for (const sha of all) if (!keep.has(sha)) await o.store.delete(sha)
    } catch {
      // A store that cannot list or delete keeps more: nothing is lost.
    }
  }

  // ---- the desired set -----------------------------------------------------------------------------

  const desire = (apps: unknown) => {
    if (stopped || !Array.isArray(apps)) return
    const wanted = new Map<string, Parsed>()
    for (const entry of apps) {
      if (wanted.size >= maxApps) break
      const parsed = parseRelease(entry, bounds)
      if (!parsed) continue
      const name = parsed.ok ? parsed.release.name : parsed.name
      if (!wanted.has(name)) wanted.set(name, parsed)
    }
    for (const [name, slot] of slots) {
      if (wanted.has(name)) continue
      retire(slot, 'stopped')
      slots.delete(name)
    }
    for (const [name, parsed] of wanted) {
      const slot = slots.get(name)
      const appId = parsed.ok ? parsed.release.appId : parsed.appId
      const deploymentId = parsed.ok ? parsed.release.deploymentId : parsed.deploymentId
      if (slot && slot.report.appId === appId) {
        if (slot.report.deploymentId === deploymentId) continue
        // The same release in a new deployment: a failed one gets another chance.
        slot.report.deploymentId = deploymentId
        if (slot.release) slot.release = { ...slot.release, deploymentId }
        if (slot.report.state !== 'failed' || !slot.release) continue
        retire(slot, null)
        const again = newSlot(slot.release, slot.report, slot.replaced)
        slots.set(name, again)
        launch(again)
        continue
      }
      let replaced: AppRelease | null = null
      if (slot) {
        retire(slot, slot.replaced?.appId === appId ? 'rolled_back' : 'stopped')
        replaced = slot.release
      }
      if (!parsed.ok) {
        const refused = newSlot(null, parsed, replaced)
        slots.set(name, refused)
        set(refused, 'failed', parsed.reason)
        continue
      }
      const next = newSlot(parsed.release, parsed.release, replaced)
      slots.set(name, next)
      launch(next)
    }
  }

  return {
    desire,
    reading(values) {
      latest = o.channels.map((c) => values[c] ?? Number.NaN)
    },
    takeRecords() {
      const taken = records
      records = []
      return taken
    },
    replacesReadings() {
      for (const slot of slots.values()) {
        if (slot.release?.telemetry === 'replace' && slot.report.state === 'running') return true
      }
      return false
    },
    report() {
      const current = [...slots.values()].map((s) => ({ ...s.report }))
      // Departed entries wait for a later heartbeat when this one has no room for them.
      let room = REPORT_BUDGET - JSON.stringify(current).length
      const leaving: AppReport[] = []
      for (const d of departed) {
        room -= JSON.stringify(d).length + 1
        if (room < 0) break
        leaving.push(d)
      }
      return [...leaving, ...current]
    },
    reported(sent) {
      const gone = new Set(sent)
      departed = departed.filter((d) => !gone.has(d))
    },
    counters: () => ({ ...counters }),
    async stop() {
      stopped = true
      for (const slot of slots.values()) slot.controller.abort(new Error('stopping'))
      while (loops.size > 0) await Promise.all([...loops])
    },
  }
}
