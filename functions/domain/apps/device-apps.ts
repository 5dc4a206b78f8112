// Apps at each heartbeat commit, for a whole group of devices at once: what they report about their
// apps is recorded (changes only), the deployments they are part of advance, and each device is told
// the exact set of apps it should run. One query reads the group's deployments; releases come from
// memory.
import type { AppRelease, AppReport, AppStore, DeviceDeployment } from '../../store/apps-port.js'
import type { Deployments } from './deployments.js'
import type { Releases } from './releases.js'
import { DEVICE_APP_STATES, type DeviceAppState, desiredRelease } from './rollout.js'

/** An app a device is told to run, in the heartbeat answer. */
export interface DesiredApp {
  appId: string
  name: string
  version: string
  sha256: string
  size: number
  deploymentId: string
  limits: AppRelease['limits']
  telemetry: AppRelease['telemetry']
}

/** What a device says about one app in its heartbeat (only these fields are read). */
interface ReportedApp {
  appId: string
  deploymentId: string
  state: DeviceAppState
  reason: string | null
}

/** A device's heartbeat, as far as apps go. */
export interface AppBeat {
  deviceId: string
  at: number
  /** Its `apps` field as sent (absent from agents without apps). */
  apps: unknown
}

const REPORTABLE = new Set<string>(DEVICE_APP_STATES.filter((s) => s !== 'deferred'))

export class DeviceApps {
  constructor(
    private readonly store: AppStore,
    private readonly releases: Releases,
    private readonly deployments: Deployments,
  ) {}

  /** For each device of the group, the apps it should run. */
  async settle(group: AppBeat[]): Promise<Map<string, DesiredApp[]>> {
    // A device that beat twice in the group: its newer report stands.
    const beats = [...new Map(group.map((b) => [b.deviceId, b])).values()]
    const rows = await this.store.deviceDeployments(beats.map((b) => b.deviceId))
    const byDevice = new Map<string, DeviceDeployment[]>()
    for (const row of rows) byDevice.set(row.deviceId, [...(byDevice.get(row.deviceId) ?? []), row])

    const changes: AppReport[] = []
    for (const beat of beats) {
      const reported = Array.isArray(beat.apps)
        ? beat.apps.map(readReport).filter((r) => r !== undefined)
        : undefined
      for (const row of byDevice.get(beat.deviceId) ?? []) {
        const change = reportChange(row, reported, beat.at)
        if (change) {
          changes.push(change)
          row.deviceState = change.state
        }
      }
    }
    await this.store.recordReports(changes)

    const rolling = rows.filter((r) => r.state === 'rolling').map((r) => r.deploymentId)
    const advanced = await this.deployments.advanceDue(rolling, new Set(changes.map((c) => c.deploymentId)))
    for (const row of rows) {
      const d = advanced.get(row.deploymentId)
      if (d) {
        row.state = d.state
        row.currentBatch = d.batch
      }
    }

    const wanted = new Map<string, string[]>()
    for (const [deviceId, list] of byDevice)
      wanted.set(
        deviceId,
        list.map((row) => desiredRelease(row)).filter((id) => id !== null),
      )
    const releases = await this.releases.getMany([...wanted.values()].flat())
    const out = new Map<string, DesiredApp[]>()
    for (const beat of beats) {
      const apps: DesiredApp[] = []
      for (const row of byDevice.get(beat.deviceId) ?? []) {
        const release = releases.get(desiredRelease(row) ?? '')
        if (release) apps.push(desired(release, row.deploymentId))
      }
      out.set(beat.deviceId, apps)
    }
    return out
  }
}

function desired(r: AppRelease, deploymentId: string): DesiredApp {
  return {
    appId: r.id,
    name: r.name,
    version: r.version,
    sha256: r.sha256,
    size: r.size,
    deploymentId,
    limits: r.limits,
    telemetry: r.telemetry,
  }
}

function readReport(value: unknown): ReportedApp | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  if (typeof v.appId !== 'string' || typeof v.deploymentId !== 'string') return undefined
  if (typeof v.state !== 'string' || !REPORTABLE.has(v.state)) return undefined
  const reason = typeof v.reason === 'string' ? v.reason.slice(0, 500) : null
  return { appId: v.appId, deploymentId: v.deploymentId, state: v.state as DeviceAppState, reason }
}

/**
 * The change a heartbeat makes to a device's row in a deployment, if any. A report of the
 * deployment's release is taken as it is. Once the deployment sends the device back (halted, rolled
 * back), the device is `rolled_back` when it runs the release it ran before, or runs no release of
 * that name when it had none.
 */
function reportChange(
  row: DeviceDeployment,
  reported: ReportedApp[] | undefined,
  at: number,
): AppReport | undefined {
  if (reported === undefined) return undefined
  const mine = reported.filter((r) => r.deploymentId === row.deploymentId)
  const current = mine.find((r) => r.appId === row.appId)
  const sentBack =
    desiredRelease(row) !== row.appId && (row.state === 'halted' || row.state === 'rolled_back')
  let state: DeviceAppState = row.deviceState
  let reason = row.reason
  if (sentBack && row.deviceState !== 'pending') {
    const previous = mine.find((r) => r.appId === row.previousAppId)
    const back = row.previousAppId === null ? current === undefined : previous?.state === 'running'
    if (back) state = 'rolled_back'
  } else if (current) {
    state = current.state
    reason = current.reason
  }
  if (state === row.deviceState && reason === row.reason) return undefined
  return {
    deviceId: row.deviceId,
    deploymentId: row.deploymentId,
    state,
    reason,
    at,
    runningAt: state === 'running' ? at : null,
  }
}
