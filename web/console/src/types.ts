// What the console reads from the API (see GET /openapi.json): only the fields it uses.

export const STATUSES = [
  'connected',
  'unreachable',
  'pending',
  'disconnected',
  'revoked',
  'unmanaged',
] as const
export type Status = (typeof STATUSES)[number]

export interface AppReport {
  appId?: string
  name: string
  version: string
  deploymentId?: string
  state: string
  ticks?: number
  fuelPerTick?: number | null
  fuelMax?: number | null
  memoryPages?: number | null
  restarts?: number
  errors?: number
  reason?: string | null
}

export interface Activity {
  records: number
  anomalies: number
}

export interface Device {
  deviceId: string
  status: Status
  name: string | null
  labels: Record<string, string>
  firstSeen: string
  lastSeen: string | null
  lastTs: string | null
  recordCount: number
  anomalyCount: number
  enrolledAt: string | null
  lastHeartbeat: string | null
  agentVersion: string | null
  heartbeat: ({ apps?: AppReport[] } & Record<string, unknown>) | null
  /** Being added by a colleague: counts over the last hour, when the server has them. */
  lastHour?: Activity
}

export interface Anomaly {
  id?: number
  deviceId: string
  ts: string
  kind: string
  metric: string | null
  value: number | null
  score: number
  detail: string | null
}

export interface DeviceEvent {
  id: number | string
  deviceId: string
  ts: string
  kind: string
  detail: string | null
  status?: Status
}

export interface SeriesValue {
  ts: string
  value: number
  score: number
  anomalies: string[]
}

export interface Series {
  deviceId: string
  metric: string
  samples: number
  values: SeriesValue[]
}

export interface AppRelease {
  id: string
  name: string
  version: string
  sha256: string
  size: number
  limits: { memoryPages: number; fuel: number; tickMs: number; wallMs: number; maxRestarts: number }
  telemetry: 'add' | 'replace'
  imports: string[]
  createdAt: string
}

export type DeploymentState =
  | 'rolling'
  | 'paused'
  | 'halted'
  | 'succeeded'
  | 'failed'
  | 'aborted'
  | 'rolled_back'

export interface Deployment {
  id: string
  app: string
  appName: string
  target: { devices?: string[]; labels?: Record<string, string> }
  rollout: { batches: number[]; bakeMs: number; maxFailures: number; healthGate: { margin: number } | null }
  state: DeploymentState
  batch: number
  reason: string | null
  createdAt: string
  updatedAt: string
}

export interface DeploymentDevice {
  deviceId: string
  batch: number
  state: string
  reason: string | null
  runningAt: string | null
  reportedAt: string | null
  report: AppReport | null
}

export interface DeploymentView extends Deployment {
  appVersion: string | null
  devicesTotal: number
  counts: Record<string, number>
  devices: { items: DeploymentDevice[]; next: string | null }
}
