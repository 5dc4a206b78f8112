// The live feed over any D1-shaped database (D1, Spin's SQLite, better-sqlite3); SQL in feed-sql.ts.
import type { DeviceStatus } from '../domain/types.js'
import type { FeedRead, FeedStore } from './feed-port.js'
import { FEED_SQL } from './feed-sql.js'
import type { Liveness } from './fleet-port.js'
import { checkLimit, checkTime, type FeedPosition } from './paging.js'
import { type AnomalyRow, type DeviceEventRow, toAnomaly, toDeviceEvent } from './rows.js'
import type { D1Database } from './sql-store.js'

type Ids = { anomaly: number; event: number }

export class SqlFeedStore implements FeedStore {
  constructor(private readonly db: D1Database) {}

  async head(): Promise<FeedPosition> {
    return this.ids(FEED_SQL.head, [])
  }

  async positionAt(time: number): Promise<FeedPosition> {
    checkTime(time, 'time')
    const t = Math.max(Number.MIN_SAFE_INTEGER, Math.min(time, Number.MAX_SAFE_INTEGER))
    return this.ids(FEED_SQL.at, [t, t])
  }

  async read(after: FeedPosition, limit: number, liveness: Liveness): Promise<FeedRead> {
    checkLimit(limit)
    let anomalies = await this.anomalies(after.anomaly, limit)
    let events = await this.events(after.event, limit, liveness)
    const from = { ...after }
    // Nothing after a position: either nothing new, or the table was emptied by retention and its
    // ids started again at 1 (no AUTOINCREMENT). Only the second leaves the newest id below ours.
    if ((anomalies.length === 0 && after.anomaly > 0) || (events.length === 0 && after.event > 0)) {
      const head = await this.head()
      if (anomalies.length === 0 && head.anomaly < after.anomaly) {
        from.anomaly = 0
        anomalies = await this.anomalies(0, limit)
      }
      if (events.length === 0 && head.event < after.event) {
        from.event = 0
        events = await this.events(0, limit, liveness)
      }
    }
    return { from, anomalies, events }
  }

  private async anomalies(after: number, limit: number) {
    const rows = await this.all<AnomalyRow & { created_at: number }>(FEED_SQL.anomalies, [after, limit])
    return rows.map((r) => ({ anomaly: toAnomaly(r), storedAt: r.created_at }))
  }

  private async events(after: number, limit: number, l: Liveness) {
    const rows = await this.all<DeviceEventRow & { status: DeviceStatus | null }>(FEED_SQL.events, [
      l.now - l.timeoutMs,
      after,
      limit,
    ])
    return rows.map((r) => ({ event: toDeviceEvent(r), status: r.status ?? undefined }))
  }

  private async ids(sql: string, params: unknown[]): Promise<Ids> {
    const row = await this.db
      .prepare(sql)
      .bind(...params)
      .first<Ids>()
    return { anomaly: row?.anomaly ?? 0, event: row?.event ?? 0 }
  }

  private async all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (
      await this.db
        .prepare(sql)
        .bind(...params)
        .all<T>()
    ).results
  }
}
