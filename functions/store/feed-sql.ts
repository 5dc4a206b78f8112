// The live feed's SQL, in the dialect common to SQLite, D1 and Spin. Every statement walks a rowid
// range from a known end or looks one row up by rowid, so its cost is what it returns (or, for
// FEED_SQL.at, the rows stored since the time asked for), never the size of the table.
import { STATUS } from './fleet-sql.js'

export const FEED_SQL = {
  /** The newest ids: max(rowid) is one step down the table's b-tree. */
  head:
    'SELECT (SELECT ifnull(max(id), 0) FROM anomalies) AS anomaly, ' +
    '(SELECT ifnull(max(id), 0) FROM device_events) AS event',
  /**
   * Parameters: time, time. The last id stored before the time, found walking back from the newest
   * row (rows are appended in time order, as purge also relies on), so it costs the rows since.
   */
  at:
    'SELECT ifnull((SELECT id FROM anomalies WHERE created_at < ? ORDER BY id DESC LIMIT 1), 0) AS anomaly, ' +
    'ifnull((SELECT id FROM device_events WHERE ts < ? ORDER BY id DESC LIMIT 1), 0) AS event',
  /** Parameters: after id, limit. */
  anomalies:
    'SELECT id, device_id, ts, kind, metric, value, score, detail, created_at FROM anomalies ' +
    'WHERE id > ? ORDER BY id LIMIT ?',
  /** Parameters: the time before which silence means unreachable, after id, limit. */
  events:
    'SELECT e.id, e.device_id, e.ts, e.kind, e.detail, ' +
    `CASE WHEN d.device_id IS NULL THEN NULL ELSE ${STATUS} END AS status ` +
    'FROM device_events e LEFT JOIN devices d ON d.device_id = e.device_id ' +
    'WHERE e.id > ? ORDER BY e.id LIMIT ?',
} as const
