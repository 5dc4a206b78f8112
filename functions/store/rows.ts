// Rows as the SQL in sql.ts returns them, and their conversion to domain objects
// (NULL becomes undefined, kinds text becomes an array), shared by every SQL adapter.
import type {
  DeviceEvent,
  DeviceStatus,
  DeviceSummary,
  Level,
  SeriesState,
  StoredAnomaly,
  StoredDeadLetter,
  StoredRecord,
  WindowFeatureRow,
} from '../domain/types.js'

export interface AnomalyRow {
  id: number
  device_id: string
  ts: number
  kind: string
  metric: string | null
  value: number | null
  score: number
  detail: string | null
}

export interface DeviceRow {
  device_id: string
  first_seen: number
  last_seen: number
  last_ts: number
  record_count: number
  anomaly_count: number
  name: string | null
  labels: string | null
  enrolled_at: number | null
  last_heartbeat: number | null
  agent_version: string | null
  heartbeat: string | null
  status: DeviceStatus
}

export interface DeviceEventRow {
  id: number
  device_id: string
  ts: number
  kind: DeviceEvent['kind']
  detail: string | null
}

export interface WindowRow {
  device_id: string
  metric: string
  start: number
  end: number
  count: number
  mean: number | null
  std: number | null
  min: number | null
  max: number | null
  range: number | null
}

export interface DeadLetterRow {
  id: number
  received_at: number
  position: string
  reason: string
  content_type: string
  raw: string
  raw_bytes: number | null
  raw_sha256: string | null
}

export interface SeriesRow {
  device_id: string
  metric: string
  state: Uint8Array
  last_ts: number
  sample_count: number
  version: number
}

/** Kinds are stored comma separated; kind names never contain commas. */
export function joinKinds(kinds: readonly string[]): string {
  return kinds.length === 0 ? '' : kinds.length === 1 ? kinds[0]! : kinds.join(',')
}

export function splitKinds(text: string): string[] {
  return text === '' ? [] : text.split(',')
}

export function toAnomaly(r: AnomalyRow): StoredAnomaly {
  return {
    id: r.id,
    deviceId: r.device_id,
    ts: r.ts,
    kind: r.kind,
    metric: r.metric ?? undefined,
    value: r.value,
    score: r.score,
    detail: r.detail ?? undefined,
  }
}

export function toDevice(r: DeviceRow): DeviceSummary {
  return {
    deviceId: r.device_id,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    lastTs: r.last_ts,
    recordCount: r.record_count,
    anomalyCount: r.anomaly_count,
    status: r.status,
    name: r.name ?? undefined,
    labels: r.labels ? (JSON.parse(r.labels) as Record<string, string>) : {},
    enrolledAt: r.enrolled_at ?? undefined,
    lastHeartbeat: r.last_heartbeat ?? undefined,
    agentVersion: r.agent_version ?? undefined,
    heartbeat: r.heartbeat ? (JSON.parse(r.heartbeat) as Record<string, unknown>) : undefined,
  }
}

export function toDeviceEvent(r: DeviceEventRow): DeviceEvent {
  return { id: r.id, deviceId: r.device_id, ts: r.ts, kind: r.kind, detail: r.detail ?? undefined }
}

/** SQLite stores NaN as NULL; the features read back as NaN. */
export function toWindow(r: WindowRow): WindowFeatureRow {
  return {
    deviceId: r.device_id,
    metric: r.metric,
    start: r.start,
    end: r.end,
    count: r.count,
    mean: r.mean ?? Number.NaN,
    std: r.std ?? Number.NaN,
    min: r.min ?? Number.NaN,
    max: r.max ?? Number.NaN,
    range: r.range ?? Number.NaN,
  }
}

export function toDeadLetter(r: DeadLetterRow): StoredDeadLetter {
  return {
    id: r.id,
    receivedAt: r.received_at,
    position: r.position,
    reason: r.reason,
    contentType: r.content_type,
    raw: r.raw,
    truncated:
      r.raw_bytes === null || r.raw_sha256 === null
        ? undefined
        : { bytes: r.raw_bytes, sha256: r.raw_sha256 },
  }
}

/** Copies the bytes into a plain Uint8Array (drivers return Buffer or ArrayBuffer views). */
export function toSeriesState(r: SeriesRow): SeriesState {
  return {
    deviceId: r.device_id,
    metric: r.metric,
    state: new Uint8Array(r.state),
    lastTs: r.last_ts,
    sampleCount: r.sample_count,
    version: r.version,
  }
}
