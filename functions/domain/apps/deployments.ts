// Deployments: a release sent to a set of devices fixed when the deployment is made, batch by batch
// (rollout.ts decides when to move on or halt). A deployment advances when its devices report (at
// each heartbeat commit) and when someone reads it, so every runtime moves it the same way without
// timers; a change is saved only over the version it was computed from.
import { ApiError } from '../../http/errors.js'
import type {
  AppStore,
  Deployment,
  DeploymentDevice,
  DeploymentDeviceNow,
  DeploymentTarget,
} from '../../store/apps-port.js'
import type { Liveness } from '../../store/fleet-port.js'
import { deploymentDeviceCursor, toPage } from '../../store/paging.js'
import { base64url } from '../fleet/crypto.js'
import type { Releases } from './releases.js'
import {
  advance,
  assignBatches,
  type Control,
  control,
  DEVICE_APP_STATES,
  type DeviceAppState,
  type DeviceReport,
  desiredRelease,
  isFinished,
  type Rollout,
  resolveBatches,
  shownState,
} from './rollout.js'

/** The most devices one deployment may target. */
export const MAX_DEPLOYMENT_DEVICES = 100_000

/** Devices read per query when a deployment's devices are walked. */
const DEVICES_PAGE = 5000

/** How often one process re-evaluates a rolling deployment when heartbeats ask. */
const ADVANCE_EVERY_MS = 250

/** The health gate compares anomalies in windows this long at least (a bake of 0 would see none). */
const MIN_HEALTH_WINDOW_MS = 60_000

export interface DeploymentRequest {
  appId: string
  target: DeploymentTarget
  rollout: {
    /** Cumulative batch sizes: a device count or a share such as "10%"; the last batch is all devices. */
    batches: (number | string)[]
    bakeMs: number
    maxFailures: number
    healthGate: { margin: number } | null
  }
}

export interface DeploymentView extends Deployment {
  appVersion: string | null
  devicesTotal: number
  counts: Record<DeviceAppState, number>
  devices: { items: DeploymentDeviceView[]; next: string | null }
}

export interface DeploymentDeviceView {
  deviceId: string
  batch: number
  state: DeviceAppState
  reason: string | null
  runningAt: number | null
  reportedAt: number | null
  /** What the device last reported for this deployment: ticks, fuel per tick, memory pages, restarts, errors. */
  report: Record<string, unknown> | null
}

export class Deployments {
  private readonly lastAdvanced = new Map<string, number>()

  constructor(
    private readonly store: AppStore,
    private readonly releases: Releases,
    private readonly now: () => number,
    private readonly liveness: () => Liveness,
  ) {}

  async create(request: DeploymentRequest): Promise<Deployment> {
    const release = await this.releases.get(request.appId)
    if (!release) throw new ApiError(404, 'not_found', `no app ${request.appId}`)
    const ids = await this.store.targetDevices(request.target, MAX_DEPLOYMENT_DEVICES + 1)
    if (ids.length === 0)
      throw new ApiError(
        400,
        'no_devices',
        'the target names no enrolled device (revoked devices are left out)',
      )
    if (ids.length > MAX_DEPLOYMENT_DEVICES)
      throw new ApiError(
        400,
        'too_many_devices',
        `a deployment targets at most ${MAX_DEPLOYMENT_DEVICES} devices`,
      )
    const batches = resolveBatches(request.rollout.batches, ids.length)
    const batchOf = assignBatches(batches, ids.length)
    const previous = await this.currentReleases(ids, release.name)
    const at = this.now()
    const rollout: Rollout = { ...request.rollout, batches }
    const deployment: Deployment = {
      id: `dep_${base64url(crypto.getRandomValues(new Uint8Array(9)))}`,
      appId: release.id,
      appName: release.name,
      target: request.target,
      rollout,
      state: 'rolling',
      batch: 0,
      batchDoneAt: null,
      reason: null,
      version: 0,
      createdAt: at,
      updatedAt: at,
    }
    const devices: DeploymentDevice[] = ids.map((deviceId, i) => ({
      deviceId,
      seq: i + 1,
      batch: batchOf[i]!,
      previousAppId: previous.get(deviceId) ?? null,
      state: 'pending',
      reason: null,
      runningAt: null,
      reportedAt: null,
    }))
    if (!(await this.store.createDeployment(deployment, devices)))
      throw new ApiError(404, 'not_found', `app ${request.appId} was deleted meanwhile`)
    return deployment
  }

  /** The deployment (advanced first), its counts by device app state and a page of its devices. */
  async view(id: string, page: { limit: number; cursor?: string | undefined }): Promise<DeploymentView> {
    const found = await this.store.getDeployment(id)
    if (!found) throw new ApiError(404, 'not_found', `no deployment ${id}`)
    const deployment = found.state === 'rolling' ? await this.advance(found) : found
    const all = await this.allDevices(id)
    const counts = Object.fromEntries(DEVICE_APP_STATES.map((s) => [s, 0])) as Record<DeviceAppState, number>
    for (const d of all) counts[shownState(report(d))]++
    const afterSeq = page.cursor === undefined ? 0 : deploymentDeviceCursor.decode(page.cursor)
    const rows = await this.store.deploymentDevices(id, this.liveness(), {
      afterSeq,
      limit: page.limit + 1,
      heartbeats: true,
    })
    const { items, next } = toPage(rows, page.limit, (last) => deploymentDeviceCursor.encode(last.seq))
    const release = await this.releases.get(deployment.appId)
    return {
      ...deployment,
      appVersion: release?.version ?? null,
      devicesTotal: all.length,
      counts,
      devices: { items: items.map((d) => deviceView(d, id)), next },
    }
  }

  async list(query: { limit: number; cursor?: string }) {
    return this.store.listDeployments(query)
  }

  /** Pause, resume, abort or roll back; 409 when the deployment's state does not allow it. */
  async control(id: string, action: Control): Promise<Deployment> {
    // Retried when a heartbeat moved the deployment between our read and our write.
    for (let attempt = 0; attempt < 5; attempt++) {
      const d = await this.store.getDeployment(id)
      if (!d) throw new ApiError(404, 'not_found', `no deployment ${id}`)
      const next = control(d, action)
      if ('refused' in next) throw new ApiError(409, 'invalid_state', next.refused, { state: d.state })
      const at = this.now()
      if (await this.store.saveProgress(id, d.version, next, at))
        return { ...d, ...next, version: d.version + 1, updatedAt: at }
    }
    throw new ApiError(409, 'conflict', 'the deployment kept changing: try again')
  }

  /**
   * Advances the rolling deployments among `ids`: those in `changed` (their devices just reported
   * something new) at once, the others when this process has not looked at them in the last
   * ADVANCE_EVERY_MS (a bake time may have passed). Returns every one it read.
   */
  async advanceDue(ids: Iterable<string>, changed: Set<string>): Promise<Map<string, Deployment>> {
    const out = new Map<string, Deployment>()
    const now = this.now()
    for (const id of new Set(ids)) {
      if (!changed.has(id) && now - (this.lastAdvanced.get(id) ?? 0) < ADVANCE_EVERY_MS) continue
      this.lastAdvanced.set(id, now)
      const d = await this.store.getDeployment(id)
      if (!d) continue
      out.set(id, d.state === 'rolling' ? await this.advance(d) : d)
      if (isFinished(out.get(id)!.state)) this.lastAdvanced.delete(id)
    }
    if (this.lastAdvanced.size > 10_000) this.lastAdvanced.clear()
    return out
  }

  /** Moves a rolling deployment as far as its devices' reports allow now, and saves the change. */
  async advance(d: Deployment): Promise<Deployment> {
    const devices = (await this.allDevices(d.id)).map(report)
    const now = this.now()
    const next = await advance(d, d.rollout, devices, now, (running) => this.health(d, running, now))
    if (next.state === d.state && next.batch === d.batch && next.batchDoneAt === d.batchDoneAt) return d
    // Lost to another writer: its change stands, and the next heartbeat looks again.
    if (!(await this.store.saveProgress(d.id, d.version, next, now))) return d
    return { ...d, ...next, version: d.version + 1, updatedAt: now }
  }

  /** The release of `name` each device is to run now (absent: none). */
  private async currentReleases(ids: string[], name: string): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    for (let i = 0; i < ids.length; i += DEVICES_PAGE) {
      for (const row of await this.store.deviceDeployments(ids.slice(i, i + DEVICES_PAGE))) {
        const appId = row.appName === name ? desiredRelease(row) : null
        if (appId) out.set(row.deviceId, appId)
      }
    }
    return out
  }

  private async allDevices(id: string): Promise<DeploymentDeviceNow[]> {
    const out: DeploymentDeviceNow[] = []
    const liveness = this.liveness()
    for (let afterSeq = 0; ; ) {
      const page = await this.store.deploymentDevices(id, liveness, {
        afterSeq,
        limit: DEVICES_PAGE,
        heartbeats: false,
      })
      out.push(...page)
      if (page.length < DEVICES_PAGE) return out
      afterSeq = page[page.length - 1]!.seq
    }
  }

  /**
   * Anomaly shares for the health gate: the batch's running devices with an anomaly in the window
   * before the deployment, and since the first of them started the release.
   */
  private async health(d: Deployment, running: DeviceReport[], now: number) {
    const window = Math.max(d.rollout.bakeMs, MIN_HEALTH_WINDOW_MS)
    const ids = running.map((r) => r.deviceId)
    const started = Math.min(...running.map((r) => r.runningAt ?? now))
    const before = await this.store.devicesWithAnomalies(ids, d.createdAt - window, d.createdAt)
    const after = await this.store.devicesWithAnomalies(ids, started, now + 1)
    return { before: before / ids.length, after: after / ids.length }
  }
}

function report(d: DeploymentDeviceNow): DeviceReport {
  return {
    deviceId: d.deviceId,
    batch: d.batch,
    state: d.state,
    reason: d.reason,
    runningAt: d.runningAt,
    online: d.status === 'connected',
  }
}

function deviceView(d: DeploymentDeviceNow, deploymentId: string): DeploymentDeviceView {
  const apps = d.heartbeat?.apps
  const reported = Array.isArray(apps)
    ? (apps.find((a) => (a as Record<string, unknown>)?.deploymentId === deploymentId) as Record<
        string,
        unknown
      >)
    : undefined
  return {
    deviceId: d.deviceId,
    batch: d.batch,
    state: shownState(report(d)),
    reason: d.reason,
    runningAt: d.runningAt,
    reportedAt: d.reportedAt,
    report: reported ?? null,
  }
}
