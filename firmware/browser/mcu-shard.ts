// A shard of virtual MCUs: many device agents (the very core firmware/node/simulator.ts runs) in one
// Web Worker, each with a simulated sensor and fault injection, its identity and outbox in IndexedDB.
// The page runs a few shards, not one worker per MCU: a worker costs megabytes and a thread, an agent
// costs kilobytes and sleeps between readings. Per shard, the MCUs' requests share one relay
// connection (two: heartbeats apart from readings, as the simulator's gateways do), since a browser
// keeps at most six connections to a host; their apps share one small pool of app workers.
//
// Every MCU can be started, faulted, cut off the network and restored (its outbox keeps everything
// and drains after), rebooted (stopped and started again from IndexedDB: same identity, same outbox),
// powered off (stopped without a goodbye: the server sees it go unreachable) and on.
import { type Agent, createAgent } from '../agent/agent.js'
import type { AppHost } from '../agent/apps/ports.js'
import type { AppReport } from '../agent/apps/release.js'
import { relayTransport } from '../agent/relay.js'
import type { AgentEvent, AgentStatus } from '../agent/stats.js'
import { directTransport, type Transport, TransportError } from '../agent/transport.js'
import {
  createEnvironment,
  createPump,
  type Fault,
  type FaultKind,
  type FaultySensor,
  isFaultKind,
  withFaults,
} from '../sensors/index.js'
import { type BrowserAppHost, createBrowserAppHost } from './app-host.js'
import { idbStorage, type McuDatabase, openMcuDatabase } from './idb-storage.js'

export type SensorChoice = 'pump' | 'env'

export interface ShardConfig {
  server: string
  enrolmentToken: string
  rateHz: number
  batchMs: number
  /** App workers of this shard. */
  appWorkers: number
  /** The IndexedDB database (one per page origin by default). */
  database?: string
  agentVersion?: string
}

export interface McuSpec {
  index: number
  sensor: SensorChoice
}

export type Power = 'on' | 'off'
export type McuAction = 'start' | 'power-off' | 'power-on' | 'reboot' | 'cut' | 'restore'

export interface FaultRequest {
  kind: FaultKind
  /** Single-channel faults only (default: one picked by the sensor's seeded stream). */
  channel?: string
  durationMs?: number
}

/** A verdict, the device's own (edge-detect's emits) or the server's (its ingest answers). */
export interface Verdict {
  /** Epoch ms. */
  ts: number
  channel: string
  /** The score (edge: `<channel>.anomaly`), or the server's kind. */
  score: number
  what: string
}

/** What the page shows of one MCU. */
export interface McuView {
  index: number
  name: string
  sensor: SensorChoice
  deviceId: string | null
  power: Power
  status: AgentStatus | 'off'
  network: boolean
  readings: number
  acked: number
  outbox: number
  dropped: number
  retries: number
  lastError: string | null
  channels: string[]
  /** The last readings, per channel (oldest first). */
  series: number[][]
  apps: AppReport[]
  edge: Verdict[]
  server: Verdict[]
  serverAnomalies: number
  edgeAnomalies: number
  faults: string[]
  instances: InstanceMeter[]
}

/** One app instance's last call against its limits: fuel used of the call's budget, memory pages of the maximum. */
export interface InstanceMeter {
  fuel: number
  fuelBudget: number
  pages: number
  pagesLimit: number
}

/** One MCU in a few fields, for lists of every MCU (tests, the benchmark). */
export interface McuSummary {
  index: number
  deviceId: string | null
  status: AgentStatus | 'off'
  network: boolean
  readings: number
  acked: number
  outbox: number
  apps: Array<{ name: string; state: string; reason: string | null }>
}

export interface ShardCounts {
  started: number
  on: number
  enrolled: number
  connected: number
  readings: number
  acked: number
  outbox: number
  retries: number
  edgeAnomalies: number
  serverAnomalies: number
  apps: Record<string, number>
  appWorkers: number
  wallTimeouts: number
  hostRestarts: number
}

const SERIES = 60
/**
 * Requests of a shard in flight at once (the rest wait their turn here). A browser sends at most six
 * to a host at a time anyway, and a thousand fetches left pending at once (every MCU asking for its
 * token after enrolling) make Chromium fail some outright (net::ERR_INSUFFICIENT_RESOURCES).
 */
const MAX_REQUESTS = 8
const VERDICTS = 12

interface Mcu {
  spec: McuSpec
  name: string
  sensor: FaultySensor
  channels: string[]
  ring: Float64Array[]
  ringAt: number
  agent: Agent | null
  /** A start or stop under way: controls wait for it. */
  busy: Promise<void>
  power: Power
  network: boolean
  status: AgentStatus | 'off'
  deviceId: string | null
  /**
   * Counted from its agents' events, over every life of this MCU on the page (an agent's own stats
   * start at zero, and asking 1,000 agents for stats() a few times a second would cost more than
   * running them). `records`: readings and app records sealed into batches.
   */
  tally: { records: number; acked: number; retries: number; dropped: number; lastError: string | null }
  /** Its apps by name, from the agent's app events. */
  apps: Map<string, { name: string; state: string; reason: string | null }>
  /** Its outbox's depth, read from the storage's copy in memory. */
  depth: () => number
  edge: Verdict[]
  server: Verdict[]
  edgeAnomalies: number
  serverAnomalies: number
  faults: string[]
  /** Its app instances as the host sees them (the agent's reports do not carry the limits). */
  instances: Set<InstanceMeter>
}

export interface Shard {
  configure(config: ShardConfig): Promise<void>
  add(specs: McuSpec[]): Promise<void>
  control(index: number, action: McuAction): Promise<void>
  fault(index: number, fault: FaultRequest): Promise<string>
  counts(): ShardCounts
  views(indices: number[]): McuView[]
  list(): McuSummary[]
  /** Stops every MCU (without goodbye) and closes the app workers. */
  close(): Promise<void>
}

export function createShard(): Shard {
  let config: ShardConfig | null = null
  let db: McuDatabase | null = null
  let appHost: BrowserAppHost | null = null
  let route: Transport | null = null
  const mcus = new Map<number, Mcu>()

  const need = () => {
    if (!config || !db || !route || !appHost) throw new Error('the shard is not configured')
    return { config, db, route, appHost }
  }

  /** The MCU's way to the server: the shard's relay, or nothing while its network is cut. */
  const transportOf = (mcu: Mcu): Transport => ({
    send(request, signal) {
      if (!mcu.network) return Promise.reject(new TransportError('network cut (simulated)'))
      return need().route.send(request, signal)
    },
  })

  /** The shared app host, seen by one MCU: what its apps emit as verdicts is kept for the page. */
  const appHostOf = (mcu: Mcu, host: AppHost): AppHost => ({
    async start(spec) {
      const instance = await host.start(spec)
      const meter: InstanceMeter = {
        fuel: 0,
        fuelBudget: 0,
        pages: spec.module.memory.min,
        pagesLimit: spec.memoryPages,
      }
      mcu.instances.add(meter)
      return {
        async call(entry, input) {
          const result = await instance.call(entry, input)
          if (entry === 'tick' && result.outcome.ok) {
            meter.fuel = result.fuelUsed
            meter.fuelBudget = input.fuel
            meter.pages = result.memoryPages
          }
          for (const [name, value] of result.emits) {
            if (!name.endsWith('.anomaly')) continue
            const channel = name.slice(0, -'.anomaly'.length)
            const flags = result.emits.find(([n]) => n === `${channel}.flags`)?.[1]
            pushVerdict(mcu.edge, { ts: input.nowMs, channel, score: value, what: `flags ${flags ?? '?'}` })
            mcu.edgeAnomalies += 1
          }
          return result
        },
        stop() {
          mcu.instances.delete(meter)
          instance.stop()
        },
      }
    },
  })

  const onEvent = (mcu: Mcu) => (e: AgentEvent) => {
    const t = mcu.tally
    if (e.type === 'status') mcu.status = e.status
    else if (e.type === 'sealed') t.records += e.records
    else if (e.type === 'acked') t.acked += e.accepted
    else if (e.type === 'retry') t.retries += 1
    else if (e.type === 'dropped') t.dropped = e.total
    else if (e.type === 'error') t.lastError = `${e.code}: ${e.message}`
    else if (e.type === 'app') mcu.apps.set(e.name, { name: e.name, state: e.state, reason: e.reason })
    else if (e.type === 'enrolled') mcu.deviceId = e.deviceId
    else if (e.type === 'anomalies') {
      mcu.serverAnomalies += e.count
      for (const a of e.anomalies) {
        const score = a.score
        pushVerdict(mcu.server, { ts: Date.parse(a.ts), channel: a.metric ?? '', score, what: a.kind })
      }
    }
  }

  const boot = async (mcu: Mcu) => {
    const { config: c, db: d, appHost: host } = need()
    const storage = await idbStorage(d, `mcu-${mcu.spec.index}`)
    mcu.depth = storage.depth
    const agent = createAgent({
      transport: transportOf(mcu),
      enrolmentToken: c.enrolmentToken,
      name: mcu.name,
      sensor: recording(mcu),
      storage,
      appHost: appHostOf(mcu, host),
      rateHz: c.rateHz,
      batchMs: c.batchMs,
      agentVersion: c.agentVersion ?? 'mcu-page',
      platform: 'browser-mcu',
      onEvent: onEvent(mcu),
      // A virtual MCU should come back soon after its network does.
      backoff: { capMs: 5_000 },
    })
    mcu.agent = agent
    mcu.power = 'on'
    mcu.status = 'enrolling'
    await agent.start()
    mcu.deviceId = agent.stats().deviceId
  }

  const halt = async (mcu: Mcu, goodbye: boolean) => {
    const agent = mcu.agent
    if (!agent) return
    mcu.agent = null
    await agent.stop({ goodbye })
    mcu.power = 'off'
    mcu.status = 'off'
  }

  /** Runs one control after the ones before it on the same MCU. */
  const serially = (mcu: Mcu, f: () => Promise<void>): Promise<void> => {
    const next = mcu.busy.then(f, f)
    mcu.busy = next.catch(() => {})
    return next
  }

  /** The sensor as the agent reads it, keeping the last readings for the page's sparklines. */
  const recording = (mcu: Mcu) => ({
    kind: mcu.sensor.kind,
    channels: () => mcu.channels,
    read(tMs: number) {
      const reading = mcu.sensor.read(tMs)
      const at = mcu.ringAt++ % SERIES
      mcu.channels.forEach((ch, i) => {
        mcu.ring[i]![at] = reading[ch] ?? Number.NaN
      })
      return reading
    },
  })

  const live = (mcu: Mcu) => ({
    readings: mcu.tally.records,
    acked: mcu.tally.acked,
    retries: mcu.tally.retries,
    outbox: mcu.depth(),
    dropped: mcu.tally.dropped,
    lastError: mcu.tally.lastError,
  })

  return {
    async configure(c) {
      config = c
      db ??= await openMcuDatabase(c.database)
      appHost ??= createBrowserAppHost({ workers: c.appWorkers })
      const upstream = limited(directTransport(c.server), MAX_REQUESTS)
      const beats = relayTransport({ upstream, paths: ['/v1/device/heartbeat', '/v1/device/goodbye'] })
      const readings = relayTransport({ upstream, paths: ['/v1/ingest'] })
      route = { send: (r, signal) => (r.path === '/v1/ingest' ? readings : beats).send(r, signal) }
    },

    async add(specs) {
      need()
      const added: Mcu[] = []
      for (const spec of specs) {
        if (mcus.has(spec.index)) continue
        const name = `mcu-${String(spec.index).padStart(4, '0')}`
        const seed = 7_919 * (spec.index + 1)
        const raw = spec.sensor === 'pump' ? createPump({ seed }) : createEnvironment({ seed })
        const sensor = withFaults(raw, { deviceId: name, seed })
        const channels = sensor.channels()
        const mcu: Mcu = {
          spec,
          name,
          sensor,
          channels,
          ring: channels.map(() => new Float64Array(SERIES).fill(Number.NaN)),
          ringAt: 0,
          agent: null,
          busy: Promise.resolve(),
          power: 'off',
          network: true,
          status: 'off',
          deviceId: null,
          tally: { records: 0, acked: 0, retries: 0, dropped: 0, lastError: null },
          apps: new Map(),
          depth: () => 0,
          edge: [],
          server: [],
          edgeAnomalies: 0,
          serverAnomalies: 0,
          faults: [],
          instances: new Set(),
        }
        mcus.set(spec.index, mcu)
        added.push(mcu)
      }
      await Promise.all(added.map((m) => serially(m, () => boot(m))))
    },

    async control(index, action) {
      const mcu = mcus.get(index)
      if (!mcu) throw new RangeError(`no MCU ${index} in this shard`)
      if (action === 'cut') mcu.network = false
      else if (action === 'restore') mcu.network = true
      else if (action === 'start' || action === 'power-on')
        await serially(mcu, async () => {
          if (!mcu.agent) await boot(mcu)
        })
      else if (action === 'power-off') await serially(mcu, () => halt(mcu, false))
      else if (action === 'reboot')
        await serially(mcu, async () => {
          await halt(mcu, true)
          await boot(mcu)
        })
      else throw new RangeError(`unknown action ${String(action)}`)
    },

    async fault(index, request) {
      const mcu = mcus.get(index)
      if (!mcu) throw new RangeError(`no MCU ${index} in this shard`)
      if (!isFaultKind(request.kind)) throw new RangeError(`unknown fault kind ${String(request.kind)}`)
      const fault: Fault = { kind: request.kind }
      if (request.channel) fault.channel = request.channel
      if (request.durationMs && request.kind !== 'spike') fault.duration = request.durationMs
      const label = mcu.sensor.inject(fault)
      const text = `${label.kind}(${label.sensors.join(',')}) ${new Date(label.start).toISOString().slice(11, 19)}+${Math.round((label.end - label.start) / 1000)}s`
      mcu.faults = [...mcu.faults.slice(-4), text]
      return text
    },

    counts() {
      const host = appHost?.counts()
      const c: ShardCounts = {
        started: mcus.size,
        on: 0,
        enrolled: 0,
        connected: 0,
        readings: 0,
        acked: 0,
        outbox: 0,
        retries: 0,
        edgeAnomalies: 0,
        serverAnomalies: 0,
        apps: {},
        appWorkers: host?.workers ?? 0,
        wallTimeouts: host?.wallTimeouts ?? 0,
        hostRestarts: host?.hostRestarts ?? 0,
      }
      for (const mcu of mcus.values()) {
        const l = live(mcu)
        if (mcu.power === 'on') c.on++
        if (mcu.deviceId) c.enrolled++
        if (mcu.power === 'on' && mcu.status === 'connected' && mcu.network) c.connected++
        c.readings += l.readings
        c.acked += l.acked
        c.outbox += l.outbox
        c.retries += l.retries
        c.edgeAnomalies += mcu.edgeAnomalies
        c.serverAnomalies += mcu.serverAnomalies
        for (const app of mcu.apps.values()) c.apps[app.state] = (c.apps[app.state] ?? 0) + 1
      }
      return c
    },

    views(indices) {
      const out: McuView[] = []
      for (const index of indices) {
        const mcu = mcus.get(index)
        if (!mcu) continue
        const l = live(mcu)
        const at = mcu.ringAt
        out.push({
          index,
          name: mcu.name,
          sensor: mcu.spec.sensor,
          deviceId: mcu.deviceId,
          power: mcu.power,
          status: mcu.power === 'off' ? 'off' : mcu.status,
          network: mcu.network,
          readings: l.readings,
          acked: l.acked,
          outbox: l.outbox,
          dropped: l.dropped,
          retries: l.retries,
          lastError: l.lastError,
          channels: mcu.channels,
          series: mcu.ring.map((r) => Array.from({ length: SERIES }, (_, i) => r[(at + i) % SERIES]!)),
          // The full reports (fuel, memory) of the few MCUs in view.
          apps: mcu.agent?.stats().apps ?? [],
          edge: [...mcu.edge],
          server: [...mcu.server],
          edgeAnomalies: mcu.edgeAnomalies,
          serverAnomalies: mcu.serverAnomalies,
          faults: [...mcu.faults],
          instances: [...mcu.instances].map((m) => ({ ...m })),
        })
      }
      return out
    },

    list() {
      return [...mcus.values()].map((mcu) => {
        const l = live(mcu)
        return {
          index: mcu.spec.index,
          deviceId: mcu.deviceId,
          status: mcu.power === 'off' ? 'off' : mcu.status,
          network: mcu.network,
          readings: l.readings,
          acked: l.acked,
          outbox: l.outbox,
          apps: [...mcu.apps.values()].map((a) => ({ ...a })),
        }
      })
    },

    async close() {
      await Promise.all([...mcus.values()].map((m) => serially(m, () => halt(m, false))))
      appHost?.close()
    },
  }
}

/** At most `max` requests in flight; the others wait, first come first served. */
function limited(upstream: Transport, max: number): Transport {
  let active = 0
  const waiting: Array<() => void> = []
  return {
    async send(request, signal) {
      if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve))
      active += 1
      try {
        return await upstream.send(request, signal)
      } finally {
        active -= 1
        waiting.shift()?.()
      }
    },
  }
}

function pushVerdict(list: Verdict[], v: Verdict): void {
  list.push(v)
  if (list.length > VERDICTS) list.splice(0, list.length - VERDICTS)
}
