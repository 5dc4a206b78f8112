// The storage port: everything the app needs from a database, async and batched so that SQLite
// on Node, D1 on Workers and Spin's SQLite interface can all implement it with common SQL.
import type {
  Anomaly,
  DeadLetter,
  DeviceRecord,
  DeviceStatus,
  DeviceSummary,
  Page,
  SeriesState,
  StoredAnomaly,
  StoredDeadLetter,
  StoredRecord,
  WindowFeatureRow,
} from '../domain/types.js'
import type { AppStore } from './apps-port.js'
import type { FeedStore } from './feed-port.js'
import type { FleetStore, Liveness } from './fleet-port.js'

/** An answer stored under its Idempotency-Key, with the sha256 of the body it answered. */
export interface IdempotentAnswer {
  key: string
  status: number
  response: string
  /** Null for answers stored before bodies were hashed. */
  bodyHash: string | null
}

/**
 * Everything one group of ingest requests writes, committed atomically (all or nothing). The commit
 * fails with CommitConflictError, changing nothing, when a series is no longer at the version its
 * state was read at, or an idempotency key was stored meanwhile (another writer got there first).
 */
export interface IngestCommit {
  receivedAt: number
  records: { record: DeviceRecord; score: number; kinds: string[] }[]
  anomalies: Anomaly[]
  windows: WindowFeatureRow[]
  /** Stored at version + 1 each (see SeriesState.version). */
  states: SeriesState[]
  deadLetters: DeadLetter[]
  /** Stores each answer under its key, so a retry with the same key is answered, not stored again. */
  idempotency: IdempotentAnswer[]
  /** Answers stored before this time have expired: the same keys stored again replace them. */
  idempotencyNotBefore: number
}

/** A commit that writes nothing yet, at `receivedAt`. */
export function emptyCommit(receivedAt: number, idempotencyNotBefore = 0): IngestCommit {
  return {
    receivedAt,
    records: [],
    anomalies: [],
    windows: [],
    states: [],
    deadLetters: [],
    idempotency: [],
    idempotencyNotBefore,
  }
}

/**
 * What purge deletes: data ingested before `before`, idempotency keys stored before
 * `idempotencyBefore`, device challenges and tokens expired by `now`.
 */
export interface PurgeCutoffs {
  before: number
  idempotencyBefore: number
  now: number
}

/** A page of devices, with their status as of `liveness`; filters on status and one label. */
export interface DeviceQuery extends PageQuery {
  liveness: Liveness
  status?: DeviceStatus | undefined
  label?: { key: string; value: string } | undefined
}

export interface AnomalyQuery {
  deviceId?: string
  kind?: string
  /** Inclusive lower bound on ts (epoch ms). */
  since?: number
  /** Exclusive upper bound on ts (epoch ms). */
  until?: number
  limit: number
  /** Opaque cursor from a previous page's `next`. */
  cursor?: string
}

export interface ExportQuery {
  deviceId?: string
  since?: number
  until?: number
  /**
   * `time` (the default): ts, then id. `arrival`: id, the order records were committed in, which is
   * the order the detectors saw them (they differ for data that arrives out of time order).
   */
  order?: 'time' | 'arrival'
}

export interface PageQuery {
  limit: number
  cursor?: string
}

export interface PurgeResult {
  records: number
  anomalies: number
  windows: number
  deadLetters: number
  idempotency: number
  deviceEvents: number
  /** Series and unmanaged devices with nothing left since the cutoff. */
  series: number
  devices: number
  /** Device challenges and tokens past their expiry. */
  expiredCredentials: number
}

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError'
}

/** A commit refused because another writer changed a series or stored a key first: reload and retry. */
export class CommitConflictError extends Error {
  override name = 'CommitConflictError'
}

export interface Store {
  /** Detector states of these series of one or more devices; missing series are absent from the map. */
  loadStates(series: { deviceId: string; metric: string }[]): Promise<Map<string, SeriesState>>
  /** The answer stored under an idempotency key at or after `notBefore` (epoch ms), if any. */
  findIdempotent(key: string, notBefore: number): Promise<IdempotentAnswer | undefined>
  /**
   * Commits an ingest batch in one transaction; resolves only once it is durable. Throws
   * CommitConflictError (nothing written) when another writer got there first.
   */
  commitIngest(batch: IngestCommit): Promise<void>

  /** Newest first (ts, then id). Throws InvalidCursorError on a cursor it did not make. */
  listAnomalies(query: AnomalyQuery): Promise<Page<StoredAnomaly>>
  /** By device id. */
  listDevices(query: DeviceQuery): Promise<Page<DeviceSummary>>
  getDevice(deviceId: string, liveness: Liveness): Promise<DeviceSummary | undefined>
  /** Enrolment, device credentials, heartbeats and events. */
  readonly fleet: FleetStore
  /** App releases and their deployments. */
  readonly apps: AppStore
  /** What happens in the fleet, read forwards from a position (the live feed). */
  readonly feed: FeedStore
  /**
   * The newest records of a device that carry the metric (top-level or under `metrics`), newest
   * first (ts, then id), among those with ts >= `since` (epoch ms). The bound is required: records
   * are indexed by ts only, so it is what keeps a rare device from costing a scan of the table.
   * Throws RangeError on a NaN `since`.
   */
  recentRecords(deviceId: string, metric: string, limit: number, since: number): Promise<StoredRecord[]>
  /**
   * The newest closed windows of a series with end >= `since` (epoch ms), newest first (end, then
   * insertion order). Bounded for the same reason as recentRecords.
   */
  recentWindows(deviceId: string, metric: string, limit: number, since: number): Promise<WindowFeatureRow[]>
  /**
   * Records in time order across devices: ts, then id, ascending (the replay tool's order); device,
   * since and until only filter. Fetched page by page as the caller iterates.
   */
  exportRecords(query: ExportQuery): AsyncIterable<StoredRecord>
  /**
   * Closed windows across series in `end` order, then the order they were stored in (served by the
   * windows' `end` index); device, since and until (on `end`) only filter. Fetched page by page.
   */
  exportWindows(query: ExportQuery): AsyncIterable<WindowFeatureRow>
  /** Newest first. */
  listDeadLetters(query: PageQuery): Promise<Page<StoredDeadLetter>>

  /**
   * Deletes what was ingested before the cutoffs, a bounded number of rows per transaction (so that
   * ingest commits go on in between), and the series and devices with no data left.
   */
  purge(cutoffs: PurgeCutoffs): Promise<PurgeResult>
  /** Resolves when the store can serve requests (readiness). */
  ping(): Promise<void>
  close(): Promise<void>
}

/** The key of one series in maps: device id and metric name. */
export function seriesKey(deviceId: string, metric: string): string {
  return deviceId + '\u0000' + metric
}
