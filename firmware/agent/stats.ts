// What the agent tells about itself: its status, its counters (stats()) and its events (onEvent).
import type { AppEvent } from './apps/manager.js'
import type { AppReport } from './apps/release.js'

export type AgentStatus = 'enrolling' | 'connected' | 'offline' | 'revoked' | 'stopped'

export interface AgentError {
  code: string
  message: string
  /** clock.now() when it happened. */
  at: number
}

export interface AgentStats {
  status: AgentStatus
  deviceId: string | null
  startedAt: number | null
  /** Readings taken from the sensor and recorded (put into a batch). */
  readings: number
  /** Readings taken but not recorded, because a `replace` app was running (its records go instead). */
  readingsReplaced: number
  /** Records of app metrics (one per tick that emitted) put into batches. */
  appRecords: number
  /** App records dropped before a batch took them, and emit()/log() calls past their bounds. */
  appRecordsDropped: number
  appCallsDropped: number
  /** Each app: its release, state and counters, as heartbeats report them. */
  apps: AppReport[]
  /** Reading times skipped because the host fell behind (a stalled event loop). */
  missedReadings: number
  sensorErrors: number
  batchesSealed: number
  /** Batches and records sent at least once (a retry does not count again). */
  batchesSent: number
  recordsSent: number
  /** Ingest attempts after the first, for any batch. */
  retries: number
  /** Batches the server committed (2xx), and the records it accepted in them. */
  batchesAcked: number
  recordsAcked: number
  /** Records a 2xx answer refused one by one (the server keeps them as dead letters). */
  recordsRefused: number
  /** Batches refused whole (400, 413, 415, 422) and dropped from the outbox. */
  rejected: number
  rejectedRecords: number
  /** Batches the outbox bound dropped (persisted across restarts), plus any the storage never took. */
  dropped: number
  outboxDepth: number
  heartbeats: number
  /** Round trips of the last heartbeats, ms, oldest first. */
  heartbeatRttMs: number[]
  /** Per acked batch (the last ones, oldest first): ms from its first send (in this run) to its ack. */
  ackLatencyMs: number[]
  /** Per acked batch: ms from sealing to ack (includes time waiting in the outbox, across restarts). */
  sealToAckMs: number[]
  /** Server time minus device time, as the agent estimates it. */
  clockOffsetMs: number
  lastError: AgentError | null
}

/** An anomaly as the server's ingest answer lists it. */
export interface ServerAnomaly {
  ts: string
  kind: string
  metric: string | null
  value: number | null
  score: number
  detail: string | null
}

export type AgentEvent =
  | { type: 'status'; status: AgentStatus }
  | { type: 'enrolled'; deviceId: string; created: boolean }
  | { type: 'authenticated'; expiresAt: number }
  | { type: 'sealed'; id: string; records: number }
  | { type: 'acked'; id: string; records: number; accepted: number; attempts: number; latencyMs: number }
  | { type: 'rejected'; id: string; records: number; status: number; code: string }
  | { type: 'dropped'; count: number; total: number }
  | {
      type: 'retry'
      what: 'enrol' | 'ingest' | 'heartbeat'
      attempt: number
      delayMs: number
      reason: string
    }
  /** The server found anomalies in an acked batch (its verdicts: the first ones it lists, and how many in all). */
  | { type: 'anomalies'; id: string; count: number; anomalies: ServerAnomaly[] }
  | { type: 'heartbeat'; rttMs: number; intervalMs: number; serverStatus: string | null }
  | { type: 'revoked' }
  | { type: 'error'; code: string; message: string }
  | { type: 'stopped' }
  /** An app changed state (or its reason changed), or logged. */
  | AppEvent

/** How many recent values the latency and round-trip lists keep. */
export const RECENT = 1000

export function pushRecent(list: number[], value: number): void {
  list.push(value)
  if (list.length > RECENT) list.splice(0, list.length - RECENT)
}

export function emptyStats(): AgentStats {
  return {
    status: 'enrolling',
    deviceId: null,
    startedAt: null,
    readings: 0,
    readingsReplaced: 0,
    appRecords: 0,
    appRecordsDropped: 0,
    appCallsDropped: 0,
    apps: [],
    missedReadings: 0,
    sensorErrors: 0,
    batchesSealed: 0,
    batchesSent: 0,
    recordsSent: 0,
    retries: 0,
    batchesAcked: 0,
    recordsAcked: 0,
    recordsRefused: 0,
    rejected: 0,
    rejectedRecords: 0,
    dropped: 0,
    outboxDepth: 0,
    heartbeats: 0,
    heartbeatRttMs: [],
    ackLatencyMs: [],
    sealToAckMs: [],
    clockOffsetMs: 0,
    lastError: null,
  }
}
