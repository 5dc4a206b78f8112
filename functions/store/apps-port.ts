// The storage port of apps and deployments: releases (their bytes stored once per sha256), and
// deployments with one row per device (its batch, the release it ran before, what it reported).
import type { DeploymentProgress, DeploymentState, DeviceAppState, Rollout } from '../domain/apps/rollout.js'
import type { DeviceStatus } from '../domain/types.js'
import type { Liveness } from './fleet-port.js'
import type { PageQuery } from './port.js'

export interface AppLimits {
  /** Maximum linear memory, in 64 KiB pages. */
  memoryPages: number
  /** CPU budget per tick, in the metering's units. */
  fuel: number
  tickMs: number
  /** Wall-clock watchdog per tick. */
  wallMs: number
  maxRestarts: number
}

export interface AppRelease {
  id: string
  name: string
  version: string
  sha256: string
  size: number
  limits: AppLimits
  /** `add`: its metrics travel beside the raw readings; `replace`: instead of them. */
  telemetry: 'add' | 'replace'
  /** The module's imports, `module.name`, as validated. */
  imports: string[]
  createdAt: number
}

export interface DeploymentTarget {
  devices?: string[] | undefined
  labels?: Record<string, string> | undefined
}

export interface Deployment extends DeploymentProgress {
  id: string
  appId: string
  appName: string
  target: DeploymentTarget
  rollout: Rollout
  /** Bumped by every change of progress: a change is saved only over the version it was made from. */
  version: number
  createdAt: number
  updatedAt: number
}

export interface DeploymentDevice {
  deviceId: string
  /** Its place in the deployment's device order. */
  seq: number
  batch: number
  /** The release of the same app name it was to run before this deployment (null: none). */
  previousAppId: string | null
  state: DeviceAppState
  reason: string | null
  runningAt: number | null
  reportedAt: number | null
}

/** A deployment's device with what its device row says now. */
export interface DeploymentDeviceNow extends DeploymentDevice {
  status: DeviceStatus | null
  /** Its last heartbeat (with the apps it reported), when asked for. */
  heartbeat?: Record<string, unknown> | undefined
}

/** A device's row in the newest deployment of one app name that includes it. */
export interface DeviceDeployment {
  deviceId: string
  deploymentId: string
  appId: string
  appName: string
  state: DeploymentState
  currentBatch: number
  batch: number
  previousAppId: string | null
  deviceState: DeviceAppState
  reason: string | null
  runningAt: number | null
}

/** A change of what a device reported for a deployment (only changes are written). */
export interface AppReport {
  deviceId: string
  deploymentId: string
  state: DeviceAppState
  reason: string | null
  at: number
  /** Set when the state is `running`: kept as the first time it ran. */
  runningAt: number | null
}

export interface AppStore {
  /** False when the name and version are taken (nothing stored). */
  addApp(app: AppRelease, bytes: Uint8Array): Promise<boolean>
  listApps(query: PageQuery): Promise<{ items: AppRelease[]; next: string | null }>
  getApps(ids: string[]): Promise<Map<string, AppRelease>>
  appBytes(id: string): Promise<Uint8Array | undefined>
  deleteApp(id: string): Promise<boolean>

  /**
   * The enrolled, unrevoked devices a target names (its ids that exist, or those carrying every
   * label), by id, at most `limit`.
   */
  targetDevices(target: DeploymentTarget, limit: number): Promise<string[]>
  /** False when the app was deleted meanwhile (nothing stored). */
  createDeployment(d: Deployment, devices: DeploymentDevice[]): Promise<boolean>
  getDeployment(id: string): Promise<Deployment | undefined>
  listDeployments(query: PageQuery): Promise<{ items: Deployment[]; next: string | null }>
  /** Deployments that are rolling: the ones that can advance. */
  rollingDeployments(): Promise<Deployment[]>
  /** Its devices in order, each with its status now (and its last heartbeat when `heartbeats`). */
  deploymentDevices(
    id: string,
    liveness: Liveness,
    page: { afterSeq: number; limit: number; heartbeats: boolean },
  ): Promise<DeploymentDeviceNow[]>
  /** False when the deployment changed since `version` (nothing saved). */
  saveProgress(id: string, version: number, progress: DeploymentProgress, at: number): Promise<boolean>
  /** For each device, its row in the newest deployment of each app name that includes it. */
  deviceDeployments(deviceIds: string[]): Promise<DeviceDeployment[]>
  /** Every device row (of the newest deployment per device) for deployments of this app name. */
  appNameDeployments(name: string): Promise<DeviceDeployment[]>
  recordReports(reports: AppReport[]): Promise<void>
  /** How many of these devices have an anomaly (other than being unreachable) with ts in [from, to). */
  devicesWithAnomalies(deviceIds: string[], from: number, to: number): Promise<number>
}
