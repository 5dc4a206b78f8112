// The fleet's SQL (devices, enrolment tokens, device credentials, heartbeats, events), in the dialect
// common to SQLite, D1 and Spin, with positional parameters only. A device's status is derived here,
// in one expression, from the times the devices table keeps: the same answer on every runtime.
import type { DeviceStatus } from '../domain/types.js'
import type { Liveness } from './fleet-port.js'
import { type BoundSql, countInMinute, type InsertSpec, minuteOf } from './sql.js'

/**
 * When the device was last heard from: its last heartbeat or its last ingested record, 0 for never.
 * A device enrolled but silent has a row with no records, whose last_seen is its enrolment.
 */
const HEARD = 'max(ifnull(last_heartbeat, 0), CASE WHEN record_count > 0 THEN last_seen ELSE 0 END)'

/** The status of a devices row; one parameter: the time before which silence means unreachable. */
export const STATUS =
  `CASE WHEN public_key IS NULL THEN 'unmanaged' ` +
  `WHEN revoked_at IS NOT NULL THEN 'revoked' ` +
  `WHEN goodbye_at IS NOT NULL AND goodbye_at >= ${HEARD} THEN 'disconnected' ` +
  `WHEN ${HEARD} = 0 THEN 'pending' ` +
  `WHEN ${HEARD} >= ? THEN 'connected' ` +
  `ELSE 'unreachable' END`

const silentBefore = (l: Liveness) => l.now - l.timeoutMs

const DEVICE =
  'device_id, first_seen, last_seen, last_ts, record_count, anomaly_count, name, labels, enrolled_at, ' +
  `last_heartbeat, agent_version, heartbeat, ${STATUS} AS status`

export interface DeviceFilter {
  status?: DeviceStatus | undefined
  label?: { key: string; value: string } | undefined
}

/** A page of devices by id, with their status; filters on status and one label. */
export function listDevicesSql(
  filter: DeviceFilter,
  after: string | undefined,
  limit: number,
  l: Liveness,
): BoundSql {
  const where: string[] = []
  const params: unknown[] = [silentBefore(l)]
  if (after !== undefined) {
    where.push('device_id > ?')
    params.push(after)
  }
  if (filter.label) {
    where.push('json_extract(labels, ?) = ?')
    params.push(`$.${JSON.stringify(filter.label.key)}`, filter.label.value)
  }
  const inner = `SELECT ${DEVICE} FROM devices${where.length ? ' WHERE ' + where.join(' AND ') : ''}`
  const outer = filter.status ? ' WHERE status = ?' : ''
  if (filter.status) params.push(filter.status)
  params.push(limit)
  return { sql: `SELECT * FROM (${inner})${outer} ORDER BY device_id LIMIT ?`, params }
}

export function getDeviceSql(deviceId: string, l: Liveness): BoundSql {
  return { sql: `SELECT ${DEVICE} FROM devices WHERE device_id = ?`, params: [silentBefore(l), deviceId] }
}

export function countByStatusSql(l: Liveness): BoundSql {
  return {
    sql: `SELECT status, count(*) AS n FROM (SELECT ${STATUS} AS status FROM devices) GROUP BY status`,
    params: [silentBefore(l)],
  }
}

const IDENTITY = 'device_id, public_key, thumbprint, enrolment_token_id, revoked_at'
const TOKEN = 'id, labels, max_uses, uses, expires_at, created_at, revoked_at'

export const FLEET_SQL = {
  identity: `SELECT ${IDENTITY} FROM devices WHERE device_id = ? AND public_key IS NOT NULL`,
  deviceExists: 'SELECT 1 AS found FROM devices WHERE device_id = ?',
  /** One parameter: a JSON array of device ids. */
  beatHistory:
    'SELECT device_id, last_heartbeat, goodbye_at, unreachable_at FROM devices ' +
    'WHERE device_id IN (SELECT value FROM json_each(?))',
  identityByThumbprint: `SELECT ${IDENTITY} FROM devices WHERE thumbprint = ?`,

  insertToken:
    'INSERT INTO enrolment_tokens (id, token_hash, labels, max_uses, uses, expires_at, created_at) ' +
    'VALUES (?, ?, ?, ?, 0, ?, ?)',
  findToken: `SELECT ${TOKEN} FROM enrolment_tokens WHERE token_hash = ?`,
  /** Newest first by rowid; the second form continues after a cursor. */
  listTokens: `SELECT rowid AS seq, ${TOKEN} FROM enrolment_tokens ORDER BY rowid DESC LIMIT ?`,
  listTokensAfter: `SELECT rowid AS seq, ${TOKEN} FROM enrolment_tokens WHERE rowid < ? ORDER BY rowid DESC LIMIT ?`,
  revokeToken: 'UPDATE enrolment_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
  tokenById: `SELECT ${TOKEN} FROM enrolment_tokens WHERE id = ?`,
  /** The enrolment_token_use trigger aborts the enrolment when this use is refused. */
  useToken: 'UPDATE enrolment_tokens SET uses = uses + 1, last_used_at = ? WHERE id = ?',
  /** An unmanaged device of the same id (records sent under it before) becomes this one. */
  enrolDevice:
    'INSERT INTO devices (device_id, first_seen, last_seen, last_ts, record_count, anomaly_count, name, labels, ' +
    'public_key, thumbprint, enrolled_at, enrolment_token_id, agent_version) VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?) ' +
    'ON CONFLICT (device_id) DO UPDATE SET name = excluded.name, labels = excluded.labels, ' +
    'public_key = excluded.public_key, thumbprint = excluded.thumbprint, enrolled_at = excluded.enrolled_at, ' +
    'enrolment_token_id = excluded.enrolment_token_id, agent_version = excluded.agent_version',

  addChallenge: 'INSERT INTO device_challenges (challenge, device_id, expires_at) VALUES (?, ?, ?)',
  /** Parameters: device id twice, and how many of its newest challenges to keep. */
  trimChallenges:
    'DELETE FROM device_challenges WHERE device_id = ? AND challenge NOT IN ' +
    '(SELECT challenge FROM device_challenges WHERE device_id = ? ORDER BY expires_at DESC LIMIT ?)',
  takeChallenge: 'DELETE FROM device_challenges WHERE challenge = ? AND device_id = ? AND expires_at > ?',
  addToken: 'INSERT INTO device_tokens (token_hash, device_id, expires_at) VALUES (?, ?, ?)',
  findDeviceToken:
    'SELECT t.device_id, t.expires_at, d.revoked_at FROM device_tokens t ' +
    'LEFT JOIN devices d ON d.device_id = t.device_id WHERE t.token_hash = ?',

  /** One parameter: a JSON array of [deviceId, at, agentVersion, body], one per device. */
  heartbeats:
    'UPDATE devices SET last_heartbeat = h.at, agent_version = ifnull(h.v, agent_version), heartbeat = h.body ' +
    "FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS at, " +
    "json_extract(value, '$[2]') AS v, json_extract(value, '$[3]') AS body FROM json_each(?)) AS h " +
    'WHERE devices.device_id = h.id',
  goodbye: 'UPDATE devices SET goodbye_at = ? WHERE device_id = ?',
  revoke:
    'UPDATE devices SET revoked_at = ? WHERE device_id = ? AND public_key IS NOT NULL AND revoked_at IS NULL',
  dropChallenges: 'DELETE FROM device_challenges WHERE device_id = ?',

  /**
   * Parameters: the first minute counted, four times, and a JSON array of device ids. The current
   * minute from the devices row, the closed ones from the activity index (at most 59 rows each).
   */
  activity:
    'SELECT device_id, ' +
    'CASE WHEN act_minute >= ? THEN act_records ELSE 0 END + ifnull((SELECT sum(records) FROM activity a ' +
    'WHERE a.device_id = devices.device_id AND a.minute >= ?), 0) AS records, ' +
    'CASE WHEN act_minute >= ? THEN act_anomalies ELSE 0 END + ifnull((SELECT sum(anomalies) FROM activity a ' +
    'WHERE a.device_id = devices.device_id AND a.minute >= ?), 0) AS anomalies ' +
    'FROM devices WHERE device_id IN (SELECT value FROM json_each(?))',

  listEvents:
    'SELECT id, device_id, ts, kind, detail FROM device_events WHERE device_id = ? ORDER BY id DESC LIMIT ?',
  listEventsAfter:
    'SELECT id, device_id, ts, kind, detail FROM device_events WHERE device_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
} as const

export const INSERT_EVENTS: InsertSpec = {
  table: 'device_events',
  columns: ['device_id', 'ts', 'kind', 'detail'],
}

/** `UPDATE devices SET name = ?, labels = ?` for the fields given, then the device id. */
export function updateDeviceSql(
  change: { name?: string | undefined; labels?: Record<string, string> },
  deviceId: string,
): BoundSql {
  const sets: string[] = []
  const params: unknown[] = []
  if (change.name !== undefined) {
    sets.push('name = ?')
    params.push(change.name)
  }
  if (change.labels !== undefined) {
    sets.push('labels = ?')
    params.push(JSON.stringify(change.labels))
  }
  params.push(deviceId)
  return { sql: `UPDATE devices SET ${sets.join(', ')} WHERE device_id = ?`, params }
}

/**
 * Devices that went silent: managed, not revoked, not gone with a goodbye, heard from once, not since
 * the cutoff, and not noted since they were last heard. The same condition guards the writes below,
 * so two sweepers racing note each device once.
 */
const SILENT =
  `public_key IS NOT NULL AND revoked_at IS NULL AND ${HEARD} > 0 AND ${HEARD} < ? ` +
  `AND (goodbye_at IS NULL OR goodbye_at < ${HEARD}) AND (unreachable_at IS NULL OR unreachable_at < ${HEARD})`

export function silentDevicesSql(l: Liveness, limit: number): BoundSql {
  return {
    sql: `SELECT device_id, ${HEARD} AS heard FROM devices WHERE ${SILENT} ORDER BY device_id LIMIT ?`,
    params: [silentBefore(l), limit],
  }
}

/** The three writes of a sweep, over the devices (a JSON array of ids) picked by silentDevicesSql. */
export function noteSilentSql(ids: string, l: Liveness): BoundSql[] {
  const pick = `${SILENT} AND device_id IN (SELECT value FROM json_each(?))`
  const detail = `'no heartbeat or record for ' || ? || ' s'`
  const seconds = Math.round(l.timeoutMs / 1000)
  return [
    {
      sql:
        'INSERT INTO device_events (device_id, ts, kind, detail) ' +
        `SELECT device_id, ${HEARD} + ?, 'unreachable', ${detail} FROM devices WHERE ${pick}`,
      params: [l.timeoutMs, seconds, silentBefore(l), ids],
    },
    {
      sql:
        'INSERT INTO anomalies (device_id, ts, kind, metric, value, score, detail, created_at) ' +
        `SELECT device_id, ${HEARD} + ?, 'device_unreachable', NULL, NULL, 1, ${detail}, ? FROM devices WHERE ${pick}`,
      params: [l.timeoutMs, seconds, l.now, silentBefore(l), ids],
    },
    {
      sql:
        'UPDATE devices SET unreachable_at = ?, anomaly_count = anomaly_count + 1, ' +
        `${countInMinute('?', '0', '1')} WHERE ${pick}`,
      params: [l.now, ...Array(3).fill(minuteOf(l.now)), silentBefore(l), ids],
    },
  ]
}
