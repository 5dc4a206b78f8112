// How stored values appear in API answers and exports: times as ISO-8601, absent values as null.
import type { AppRelease, Deployment } from '../store/apps-port.js'
import type { DeviceActivity, EnrolmentToken } from '../store/fleet-port.js'
import type { DeploymentView } from './apps/deployments.js'
import type {
  Anomaly,
  DeviceEvent,
  DeviceSummary,
  StoredAnomaly,
  StoredDeadLetter,
  WindowFeatureRow,
} from './types.js'

export const iso = (ms: number) => new Date(ms).toISOString()

export function presentAnomaly(a: Anomaly | StoredAnomaly) {
  return {
    ...('id' in a ? { id: a.id } : {}),
    deviceId: a.deviceId,
    ts: iso(a.ts),
    kind: a.kind,
    metric: a.metric ?? null,
    value: a.value,
    score: a.score,
    detail: a.detail ?? null,
  }
}

const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : iso(ms))

/**
 * A device; the times of its records are null when it has sent none (an enrolled, silent device).
 * `lastHour`: what it sent in the last hour (see domain/fleet/activity.ts).
 */
export function presentDevice(d: DeviceSummary, lastHour: DeviceActivity) {
  const sent = d.recordCount > 0 || d.anomalyCount > 0
  return {
    deviceId: d.deviceId,
    status: d.status,
    name: d.name ?? null,
    labels: d.labels,
    firstSeen: iso(d.firstSeen),
    lastSeen: sent ? iso(d.lastSeen) : null,
    lastTs: sent ? iso(d.lastTs) : null,
    recordCount: d.recordCount,
    anomalyCount: d.anomalyCount,
    enrolledAt: isoOrNull(d.enrolledAt),
    lastHeartbeat: isoOrNull(d.lastHeartbeat),
    agentVersion: d.agentVersion ?? null,
    heartbeat: d.heartbeat ?? null,
    lastHour,
  }
}

export function presentDeviceEvent(e: DeviceEvent) {
  return { id: e.id, deviceId: e.deviceId, ts: iso(e.ts), kind: e.kind, detail: e.detail ?? null }
}

export function presentEnrolmentToken(t: EnrolmentToken) {
  return {
    id: t.id,
    labels: t.labels,
    maxUses: t.maxUses,
    uses: t.uses,
    expiresAt: iso(t.expiresAt),
    createdAt: iso(t.createdAt),
    revokedAt: isoOrNull(t.revokedAt),
  }
}

export function presentWindow(w: WindowFeatureRow) {
  return {
    start: iso(w.start),
    end: iso(w.end),
    count: w.count,
    mean: w.mean,
    std: w.std,
    min: w.min,
    max: w.max,
    range: w.range,
  }
}

export function presentDeadLetter(d: StoredDeadLetter) {
  return {
    id: d.id,
    receivedAt: iso(d.receivedAt),
    position: d.position,
    reason: d.reason,
    contentType: d.contentType,
    raw: d.raw,
    truncated: d.truncated ?? null,
  }
}

export function presentApp(a: AppRelease) {
  return { ...a, createdAt: iso(a.createdAt) }
}

/** A deployment; its batch is shown 1-based, as people count. */
export function presentDeployment(d: Deployment) {
  return {
    id: d.id,
    app: d.appId,
    appName: d.appName,
    target: d.target,
    rollout: d.rollout,
    state: d.state,
    batch: d.batch + 1,
    reason: d.reason,
    createdAt: iso(d.createdAt),
    updatedAt: iso(d.updatedAt),
  }
}

export function presentDeploymentView(v: DeploymentView) {
  return {
    ...presentDeployment(v),
    appVersion: v.appVersion,
    devicesTotal: v.devicesTotal,
    counts: v.counts,
    devices: {
      items: v.devices.items.map((d) => ({
        ...d,
        batch: d.batch + 1,
        runningAt: d.runningAt === null ? null : iso(d.runningAt),
        reportedAt: d.reportedAt === null ? null : iso(d.reportedAt),
      })),
      next: v.devices.next,
    },
  }
}
