// A simulated fleet in one Node process: N agents (the real device agent), each with a simulated
// sensor and fault injection, enrolled in waves, sending for a while, then stopped with their outbox
// drained. Behind gateways (`gateway` devices each), their requests share one relay connection, each
// device keeping its own identity and token. Deployed apps run on a pool of worker threads shared by
// the whole fleet, their modules kept once. What it measures is what `edgewatch simulate` prints.
import { type Agent, createAgent } from '../agent/agent.js'
import { memoryAppStore } from '../agent/apps/memory-store.js'
import { memoryStorage } from '../agent/memory-storage.js'
import { relayTransport } from '../agent/relay.js'
import type { AgentEvent, AgentStatus } from '../agent/stats.js'
import { directTransport, type Transport } from '../agent/transport.js'
import {
  applyFaultPlans,
  createEnvironment,
  createPump,
  type FaultLabel,
  type FaultySensor,
  parseFaultSpec,
  withFaults,
} from '../sensors/index.js'
import { createWorkerAppHost, defaultPoolSize } from './app-host.js'
import { fileAppStore } from './app-store.js'
import { fileStorage } from './file-storage.js'
import { nodeFreeMemory } from './memory.js'

export interface SimulationOptions {
  server: string
  enrolmentToken: string
  devices: number
  rateHz: number
  /** How long each device collects readings before it sends them (one batch). */
  batchMs: number
  durationMs: number
  /** How long to wait at the end for every outbox to empty. */
  drainMs: number
  sensor: 'pump' | 'env' | 'mixed'
  /** Fault spec (firmware/sensors/fault-spec.ts); offsets count from the start of the run. */
  faults?: string | undefined
  /** Devices per gateway (one relay connection each); 0 or undefined: each device connects itself. */
  gateway?: number | undefined
  /** Keep identities and outboxes in files under this directory (default: in memory). */
  stateDir?: string | undefined
  /** Devices started (and enrolled) at once. */
  wave: number
  /** How long enrolment may take in all (default 10 min): past it the run starts with the devices enrolled so far. */
  enrolTimeoutMs?: number
  seed: number
  agentVersion: string
  /** Called about once a second while running. */
  onProgress?: (p: Progress) => void
  /** Called when the run is over, before the devices stop (to look at the server while they run). */
  beforeStop?: () => Promise<void>
  /** Ends the run early when it settles (a signal): the devices then stop and drain as at the end. */
  stopEarly?: Promise<void>
  /** Worker threads that run the fleet's apps (default: one per CPU); 0: the devices run no apps. */
  appWorkers?: number
  /** Every event of every agent, with the device's index (after the simulator counted it). */
  onAgentEvent?: (device: number, e: AgentEvent) => void
}

export interface Progress {
  phase: 'enrolling' | 'running' | 'draining'
  elapsedS: number
  enrolled: number
  connected: number
  readings: number
  recordsAcked: number
  queued: number
  retries: number
}

export interface SimulationResult {
  devices: number
  enrolled: number
  connected: number
  readings: number
  recordsSent: number
  recordsAcked: number
  recordsRefused: number
  recordsLost: number
  dropped: number
  retries: number
  heartbeats: number
  heartbeatP99Ms: number | null
  e2eP50Ms: number | null
  e2eP95Ms: number | null
  enrolSeconds: number
  runSeconds: number
  labels: FaultLabel[]
  /** Device name to its id, for the labels and for checks against the server. */
  deviceIds: Record<string, string>
  relay: { envelopes: number; parts: number } | null
  /** Records of app metrics put into batches (beside the readings). */
  appRecords: number
  /** The devices' apps at the end, by state. */
  apps: Record<string, number>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function simulate(o: SimulationOptions): Promise<SimulationResult> {
  // A bad fault spec fails here, before any device starts.
  const plans = parseFaultSpec(o.faults ?? '')
  const names = Array.from({ length: o.devices }, (_, i) => `sim-${String(i).padStart(5, '0')}`)
  const sensors: FaultySensor[] = names.map((name, i) => {
    const kind = o.sensor === 'mixed' ? (i % 2 ? 'env' : 'pump') : o.sensor
    const seed = o.seed * 1_000_003 + i
    const sensor = kind === 'pump' ? createPump({ seed }) : createEnvironment({ seed })
    return withFaults(sensor, { deviceId: name, seed: o.seed })
  })
  const upstream = directTransport(o.server)
  const gateways: ReturnType<typeof relayTransport>[] = []
  const routes: Transport[] = []
  const transportFor = (i: number): Transport => {
    if (!o.gateway) return upstream
    const g = Math.floor(i / o.gateway)
    if (!routes[g]) {
      // A gateway keeps heartbeats and readings in envelopes of their own, so that a heartbeat's
      // answer never waits for the commit of the readings it travelled with.
      const beats = relayTransport({ upstream, paths: ['/v1/device/heartbeat', '/v1/device/goodbye'] })
      const readings = relayTransport({ upstream, paths: ['/v1/ingest'] })
      gateways.push(beats, readings)
      routes[g] = { send: (r, signal) => (r.path === '/v1/ingest' ? readings : beats).send(r, signal) }
    }
    return routes[g]
  }
  const workers = o.appWorkers ?? defaultPoolSize()
  const appHost = workers > 0 ? createWorkerAppHost({ workers }) : null
  // One module store for the fleet: a module is kept once, however many devices run it.
  const modules = o.stateDir ? await fileAppStore(o.stateDir, { durable: false }) : memoryAppStore()
  const agents: Agent[] = []
  // Every device starts reading at once, when the whole fleet has enrolled: the run is measured in
  // steady state, not while the first devices' backlog waits for the last ones to enrol.
  let startReading = () => {}
  const readingStarts = new Promise<void>((resolve) => {
    startReading = resolve
  })
  const t0 = performance.now()
  const elapsedS = () => (performance.now() - t0) / 1000
  let phase: Progress['phase'] = 'enrolling'
  // Counted from the agents' events: asking 10,000 agents for stats() every tick would cost more
  // than running them.
  const live = { enrolled: 0, beating: 0, sealedRecords: 0, ackedRecords: 0, queued: 0, retries: 0 }
  const status: AgentStatus[] = []
  const beats: number[] = []
  const onEvent = (i: number) => (e: AgentEvent) => {
    if (e.type === 'enrolled') live.enrolled++
    else if (e.type === 'status') status[i] = e.status
    else if (e.type === 'heartbeat') {
      if (beats[i] === 0) live.beating++
      beats[i] = (beats[i] ?? 0) + 1
    } else if (e.type === 'sealed') {
      live.sealedRecords += e.records
      live.queued++
    } else if (e.type === 'acked') {
      live.ackedRecords += e.records
      live.queued--
    } else if (e.type === 'rejected') live.queued--
    else if (e.type === 'dropped') live.queued -= e.count
    else if (e.type === 'retry') live.retries++
    o.onAgentEvent?.(i, e)
  }
  const connected = () => status.filter((s) => s === 'connected').length
  const ticker = setInterval(() => {
    o.onProgress?.({
      phase,
      elapsedS: elapsedS(),
      enrolled: live.enrolled,
      connected: connected(),
      readings: live.sealedRecords,
      recordsAcked: live.ackedRecords,
      queued: live.queued,
      retries: live.retries,
    })
  }, 1000)
  const enrolDeadline = performance.now() + (o.enrolTimeoutMs ?? 600_000)
  /** Waits until `done()`, or the enrolment deadline; says which. */
  const waitFor = async (done: () => boolean) => {
    while (!done()) {
      if (performance.now() > enrolDeadline) return false
      await sleep(50)
    }
    return true
  }
  try {
    // Enrolment in waves: each wave's agents start together, and the next waits until they all enrolled.
    for (let from = 0; from < o.devices; from += o.wave) {
      const wave: Agent[] = []
      for (let i = from; i < Math.min(o.devices, from + o.wave); i++) {
        beats[i] = 0
        const agent = createAgent({
          transport: transportFor(i),
          enrolmentToken: o.enrolmentToken,
          name: names[i]!,
          sensor: sensors[i]!,
          storage: {
            ...(o.stateDir
              ? await fileStorage(`${o.stateDir}/${names[i]}`, { durable: false })
              : memoryStorage()),
            apps: modules,
          },
          ...(appHost ? { appHost } : {}),
          rateHz: o.rateHz,
          batchMs: o.batchMs,
          agentVersion: o.agentVersion,
          platform: 'edgewatch-simulate',
          memory: nodeFreeMemory,
          onEvent: onEvent(i),
          // Spread over a batch: devices of a real fleet do not all send in the same millisecond.
          sampleFrom: readingStarts.then(async () => {
            await sleep(Math.random() * o.batchMs)
          }),
        })
        wave.push(agent)
      }
      await Promise.all(wave.map((a) => a.start()))
      agents.push(...wave)
      if (!(await waitFor(() => live.enrolled >= agents.length))) break
    }
    // Authenticated too (a first heartbeat answered), so that the run measures the steady state.
    await waitFor(() => live.beating >= agents.length)
    const enrolSeconds = elapsedS()
    phase = 'running'
    const before = agents.map((a) => ({
      beats: a.stats().heartbeatRttMs.length,
      acks: a.stats().ackLatencyMs.length,
    }))
    startReading()
    const runStart = Date.now()
    const labels = applyFaultPlans(plans, sensors, runStart, o.seed)
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, o.durationMs)
      }),
      o.stopEarly ?? new Promise<void>(() => {}),
    ])
    clearTimeout(timer)
    const runSeconds = elapsedS() - enrolSeconds
    const connectedAtEnd = connected()
    await o.beforeStop?.()
    phase = 'draining'
    await Promise.all(agents.map((a) => a.stop({ goodbye: true, drainMs: o.drainMs })))
    return result(agents, before, labels, names, enrolSeconds, runSeconds, connectedAtEnd, gateways)
  } finally {
    clearInterval(ticker)
    await appHost?.close()
  }
}

function result(
  agents: Agent[],
  /** How many round trips each agent had measured before the run: those are left out. */
  before: { beats: number; acks: number }[],
  labels: FaultLabel[],
  names: string[],
  enrolSeconds: number,
  runSeconds: number,
  connected: number,
  gateways: ReturnType<typeof relayTransport>[],
): SimulationResult {
  const sum = (f: (s: ReturnType<Agent['stats']>) => number) => agents.reduce((n, a) => n + f(a.stats()), 0)
  const heartbeats: number[] = []
  const e2e: number[] = []
  const deviceIds: Record<string, string> = {}
  agents.forEach((a, i) => {
    const s = a.stats()
    heartbeats.push(...s.heartbeatRttMs.slice(before[i]!.beats))
    e2e.push(...s.ackLatencyMs.slice(before[i]!.acks))
    if (s.deviceId) deviceIds[names[i]!] = s.deviceId
  })
  const readings = sum((s) => s.readings)
  const appRecords = sum((s) => s.appRecords)
  const apps: Record<string, number> = {}
  for (const a of agents) for (const app of a.stats().apps) apps[app.state] = (apps[app.state] ?? 0) + 1
  const recordsAcked = sum((s) => s.recordsAcked)
  const refused = sum((s) => s.recordsRefused + s.rejectedRecords)
  const relay = gateways.length
    ? gateways.reduce(
        (n, g) => ({ envelopes: n.envelopes + g.counts().envelopes, parts: n.parts + g.counts().parts }),
        { envelopes: 0, parts: 0 },
      )
    : null
  return {
    devices: agents.length,
    enrolled: Object.keys(deviceIds).length,
    connected,
    readings,
    recordsSent: sum((s) => s.recordsSent),
    recordsAcked,
    recordsRefused: refused,
    recordsLost: readings + appRecords - recordsAcked - refused,
    dropped: sum((s) => s.dropped),
    retries: sum((s) => s.retries),
    heartbeats: sum((s) => s.heartbeats),
    heartbeatP99Ms: percentile(heartbeats, 0.99),
    e2eP50Ms: percentile(e2e, 0.5),
    e2eP95Ms: percentile(e2e, 0.95),
    enrolSeconds: round(enrolSeconds),
    runSeconds: round(runSeconds),
    labels: labels.map((l) => ({ ...l, deviceId: deviceIds[l.deviceId] ?? l.deviceId })),
    deviceIds,
    relay,
    appRecords,
    apps,
  }
}

function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null
  const sorted = Float64Array.from(values).sort()
  return round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!)
}

const round = (x: number) => Math.round(x * 10) / 10
