// A manager for tests: the inline host (or another), a memory store, a fake clock, and downloads
// served from published bytes through the real download code.
import { DEFAULT_BACKOFF } from '../../backoff.js'
import { type FakeClock, fakeClock } from '../../testing/fake-clock.js'
import { TransportError, type TransportResponse } from '../../transport.js'
import { downloadRelease, sha256Hex } from '../download.js'
import { inlineAppHost } from '../inline-host.js'
import { type AppEvent, type AppManager, createAppManager } from '../manager.js'
import { memoryAppStore } from '../memory-store.js'
import type { AppHost, AppStore } from '../ports.js'
import type { AppLimits, AppRelease, AppReport, Telemetry } from '../release.js'
import { DEFAULT_LIMITS } from './app-server.js'

export interface Setup {
  clock: FakeClock
  manager: AppManager
  events: AppEvent[]
  /** App state changes with the fake time they happened at. */
  timeline: Array<{ state: string; reason: string | null; at: number }>
  /** What the host saw, with the fake time: each instance started, each call that trapped. */
  hostLog: Array<{ what: 'start' | 'trap'; at: number }>
  store: AppStore
  downloads: string[]
  /** Next download answers: a TransportError for each `true`. */
  networkDown: boolean[]
  publish(
    name: string,
    version: string,
    bytes: Uint8Array,
    options?: { limits?: Partial<AppLimits>; telemetry?: Telemetry; size?: number },
  ): Promise<AppRelease>
  serve(appId: string, bytes: Uint8Array): void
  /** The current entry of an app name (the last in the report). */
  current(name: string): AppReport | undefined
  /** Runs fake time until the app's current entry satisfies `done`. */
  until(name: string, done: (r: AppReport) => boolean, maxMs?: number): Promise<AppReport>
}

export function setup(options: { host?: AppHost | null; store?: AppStore; clock?: FakeClock } = {}): Setup {
  const clock = options.clock ?? fakeClock()
  const events: AppEvent[] = []
  const timeline: Setup['timeline'] = []
  const hostLog: Setup['hostLog'] = []
  const inner = options.host === undefined ? inlineAppHost() : options.host
  const host: AppHost | null = inner && {
    async start(spec) {
      hostLog.push({ what: 'start', at: clock.now() })
      const instance = await inner.start(spec)
      return {
        async call(entry, input) {
          const res = await instance.call(entry, input)
          if (!res.outcome.ok) hostLog.push({ what: 'trap', at: clock.now() })
          return res
        },
        stop: () => instance.stop(),
      }
    },
  }
  const store = options.store ?? memoryAppStore()
  const modules = new Map<string, Uint8Array>()
  const downloads: string[] = []
  const networkDown: boolean[] = []
  let seq = 0
  const call = async (request: { path: string }): Promise<TransportResponse> => {
    if (networkDown.shift()) throw new TransportError('connection refused')
    const appId = decodeURIComponent(request.path.split('/').at(-1)!)
    downloads.push(appId)
    const bytes = modules.get(appId)
    if (bytes) return { status: 200, headers: {}, body: '', bodyBytes: bytes }
    return {
      status: 404,
      headers: {},
      body: JSON.stringify({ error: { code: 'app_not_found', message: 'no such app' } }),
    }
  }
  const manager = createAppManager({
    host,
    clock,
    store,
    download: (release, maxBytes, signal) => downloadRelease(call, release, maxBytes, signal),
    channels: ['flow', 'temp'],
    emit: (e) => {
      events.push(e)
      if (e.type === 'app') timeline.push({ state: e.state, reason: e.reason, at: clock.now() })
    },
    retry: { ...DEFAULT_BACKOFF, baseMs: 1000, capMs: 60_000, random: () => 0.5 },
  })
  const current = (name: string) =>
    manager
      .report()
      .filter((r) => r.name === name)
      .at(-1)
  return {
    clock,
    manager,
    events,
    timeline,
    hostLog,
    store,
    downloads,
    networkDown,
    async publish(name, version, bytes, o = {}) {
      const appId = `app-${++seq}`
      modules.set(appId, bytes)
      return {
        appId,
        name,
        version,
        sha256: await sha256Hex(bytes),
        size: o.size ?? bytes.length,
        deploymentId: `dep-${seq}`,
        limits: { ...DEFAULT_LIMITS, ...o.limits },
        telemetry: o.telemetry ?? 'add',
      }
    },
    serve: (appId, bytes) => modules.set(appId, bytes),
    current,
    async until(name, done, maxMs = 600_000) {
      await clock.runUntil(
        () => {
          const r = current(name)
          return r !== undefined && done(r)
        },
        { maxMs },
      )
      return current(name)!
    },
  }
}

/** ms from each trap to the next start of an instance. */
export function restartWaits(hostLog: Setup['hostLog']): number[] {
  const waits: number[] = []
  hostLog.forEach((e, i) => {
    if (e.what !== 'trap') return
    const next = hostLog.slice(i + 1).find((n) => n.what === 'start')
    if (next) waits.push(next.at - e.at)
  })
  return waits
}
