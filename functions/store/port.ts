// The storage port: everything the app needs from a database, async and batched so that SQLite
// on Node, D1 on Workers and Spin's SQLite interface can all implement it with common SQL.
import type {
  Anomaly,
  DeadLetter,
  DeviceRecord,
  DeviceSummary,
  Page,
  SeriesState,
  StoredAnomaly,
  StoredDeadLetter,
  StoredRecord,
  WindowFeatureRow,
} from '../domain/types.js'

/** Everything one ingest request writes, committed atomically (all or nothing). */
export interface IngestCommit {
  receivedAt: number
  records: { record: DeviceRecord; score: number; kinds: string[] }[]
  anomalies: Anomaly[]
  windows: WindowFeatureRow[]
  states: SeriesState[]
  deadLetters: DeadLetter[]
  /** Stores each answer under its key, so a retry with the same key is answered, not stored again. */
  idempotency?: { key: string; status: number; response: string }[]
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
}

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError'
}

export interface Store {
  /** Detector states of these series of one or more devices; missing series are absent from the map. */
  loadStates(series: { deviceId: string; metric: string }[]): Promise<Map<string, SeriesState>>
  /** The stored response for an idempotency key, if that key was committed before. */
  findIdempotent(key: string): Promise<{ status: number; response: string } | undefined>
  /** Commits an ingest batch in one transaction; resolves only once it is durable. */
  commitIngest(batch: IngestCommit): Promise<void>

  /** Newest first (ts, then id). Throws InvalidCursorError on a cursor it did not make. */
  listAnomalies(query: AnomalyQuery): Promise<Page<StoredAnomaly>>
  /** By device id. */
  listDevices(query: PageQuery): Promise<Page<DeviceSummary>>
  getDevice(deviceId: string): Promise<DeviceSummary | undefined>
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
  /** Newest first. */
  listDeadLetters(query: PageQuery): Promise<Page<StoredDeadLetter>>

  /** Deletes what was ingested before the cutoff (epoch ms). */
  purge(ingestedBefore: number): Promise<PurgeResult>
  /** Resolves when the store can serve requests (readiness). */
  ping(): Promise<void>
  close(): Promise<void>
}

/** The key of one series in maps: device id and metric name. */
export function seriesKey(deviceId: string, metric: string): string {
  return deviceId + '\u0000' + metric
}
