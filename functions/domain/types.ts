// The domain's data shapes, shared by the analyser, the store and the routes.
import type { WindowFeature } from '../../kernels/host/kernel.js'

export const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const
export type Level = (typeof LEVELS)[number]

/** A device record after validation. */
export interface DeviceRecord {
  deviceId: string
  /** Epoch milliseconds (server time when the record had none). */
  ts: number
  level: Level | undefined
  msg: string | undefined
  /** Numeric metrics, top-level and under `metrics`, in the order they appeared. */
  metrics: [name: string, value: number][]
  /** The record as JSON text, unknown fields kept. */
  body: string
}

/** A record as stored, with the verdict of the analysis. */
export interface StoredRecord {
  id: number
  deviceId: string
  ts: number
  ingestedAt: number
  level: Level | undefined
  score: number
  /** Anomaly kinds found on this record, in order, without repeats. */
  kinds: string[]
  body: string
}

export interface Anomaly {
  deviceId: string
  ts: number
  kind: string
  /** The metric it is about; undefined for record-level kinds such as `error`. */
  metric: string | undefined
  value: number | null
  score: number
  /** Short human explanation (rule threshold, level and message…). */
  detail: string | undefined
}

export interface StoredAnomaly extends Anomaly {
  id: number
}

/** One closed window of a series (see kernels/host/kernel.ts for the features). */
export interface WindowFeatureRow extends WindowFeature {
  deviceId: string
  metric: string
}

export interface DeadLetter {
  receivedAt: number
  /** Where it was in the request: `line 3`, `index 2` or `body`. */
  position: string
  reason: string
  contentType: string
  raw: string
  /** Set when `raw` was cut short: the whole input's UTF-8 size in bytes and its sha256 (hex). */
  truncated?: { bytes: number; sha256: string } | undefined
}

export interface StoredDeadLetter extends DeadLetter {
  id: number
}

/**
 * A device's status, derived when read: `unmanaged` (known only from its records, never enrolled),
 * `pending` (enrolled, never heard from), `connected` (heard within the heartbeat timeout),
 * `unreachable` (silent past it), `disconnected` (said goodbye), `revoked`.
 */
export const DEVICE_STATUSES = [
  'unmanaged',
  'pending',
  'connected',
  'unreachable',
  'disconnected',
  'revoked',
] as const
export type DeviceStatus = (typeof DEVICE_STATUSES)[number]

export interface DeviceSummary {
  deviceId: string
  /** When its first record or its enrolment arrived (epoch ms). */
  firstSeen: number
  lastSeen: number
  lastTs: number
  recordCount: number
  anomalyCount: number
  status: DeviceStatus
  name: string | undefined
  labels: Record<string, string>
  enrolledAt: number | undefined
  lastHeartbeat: number | undefined
  agentVersion: string | undefined
  /** The body of its last heartbeat (uptime, free memory, outbox depth, apps). */
  heartbeat: Record<string, unknown> | undefined
}

/** Something that happened to a device. */
export interface DeviceEvent {
  id: number
  deviceId: string
  ts: number
  kind: 'enrolled' | 'connected' | 'unreachable' | 'disconnected' | 'revoked' | 'updated'
  detail: string | undefined
}

/** One series' detector state between requests. */
export interface SeriesState {
  deviceId: string
  metric: string
  state: Uint8Array
  lastTs: number
  sampleCount: number
  /**
   * The stored version this state was read at, or derived from (0: not stored yet). A commit stores
   * version + 1 and fails if the stored row is no longer at `version`: two writers never both
   * advance a series from the same snapshot.
   */
  version: number
}

export interface Page<T> {
  items: T[]
  next: string | null
}
