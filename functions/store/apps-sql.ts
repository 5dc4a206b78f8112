// The SQL of apps and deployments, in the dialect common to SQLite, D1 and Spin, with positional
// parameters only. Lists of ids and rows travel as one JSON parameter (json_each), so a statement
// binds a bounded number of parameters whatever the fleet's size.
import type { DeploymentTarget } from './apps-port.js'
import { STATUS } from './fleet-sql.js'
import type { BoundSql } from './sql.js'

const APP =
  'seq, id, name, version, sha256, size, memory_pages, fuel, tick_ms, wall_ms, max_restarts, telemetry, imports, created_at'
const DEPLOYMENT =
  'seq, id, app_id, app_name, target, rollout, state, batch, batch_done_at, reason, version, created_at, updated_at'
const DEVICE_ROW =
  'dd.device_id, dd.seq, dd.batch, dd.previous_app_id, dd.state, dd.reason, dd.running_at, dd.reported_at'

/** A page of a deployment's devices joined to their rows (STATUS reads the devices table's columns). */
const DEVICES_PAGE =
  'FROM deployment_devices dd LEFT JOIN devices ON devices.device_id = dd.device_id ' +
  'WHERE dd.deployment_id = ? AND dd.seq > ? ORDER BY dd.seq LIMIT ?'

/**
 * Each device's row in the newest deployment (by seq) of each app name that includes it; `%WHERE%`
 * picks the rows considered.
 */
const NEWEST_PER_NAME =
  'SELECT * FROM (SELECT dd.device_id, d.id AS deployment_id, d.app_id, d.app_name, d.state, ' +
  'd.batch AS current_batch, dd.batch, dd.previous_app_id, dd.state AS device_state, dd.reason, dd.running_at, ' +
  'row_number() OVER (PARTITION BY dd.device_id, d.app_name ORDER BY d.seq DESC) AS rank ' +
  'FROM deployment_devices dd JOIN deployments d ON d.id = dd.deployment_id WHERE %WHERE%) WHERE rank = 1'

/** Devices that can run apps: enrolled and not revoked. */
const MANAGED = 'public_key IS NOT NULL AND revoked_at IS NULL'

/** The devices a deployment targets: listed ids, or every label (key, value) matched; then a limit. */
export function targetDevicesSql(target: DeploymentTarget, limit: number): BoundSql {
  const where = [MANAGED]
  const params: unknown[] = []
  if (target.devices) {
    where.push('device_id IN (SELECT value FROM json_each(?))')
    params.push(JSON.stringify(target.devices))
  }
  for (const [key, value] of Object.entries(target.labels ?? {})) {
    where.push('json_extract(labels, ?) = ?')
    params.push(`$.${JSON.stringify(key)}`, value)
  }
  params.push(limit)
  return {
    sql: `SELECT device_id FROM devices WHERE ${where.join(' AND ')} ORDER BY device_id LIMIT ?`,
    params,
  }
}

export const APPS_SQL = {
  insertApp:
    `INSERT INTO apps (${APP.replace('seq, ', '')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
    'ON CONFLICT (name, version) DO NOTHING',
  /** Bytes as hex: the one blob encoding every runtime's binding takes. */
  insertBlob: 'INSERT INTO app_blobs (sha256, bytes) VALUES (?, unhex(?)) ON CONFLICT (sha256) DO NOTHING',
  listApps: `SELECT ${APP} FROM apps ORDER BY seq DESC LIMIT ?`,
  listAppsAfter: `SELECT ${APP} FROM apps WHERE seq < ? ORDER BY seq DESC LIMIT ?`,
  /** One parameter: a JSON array of ids. */
  getApps: `SELECT ${APP} FROM apps WHERE id IN (SELECT value FROM json_each(?))`,
  appBytes: 'SELECT b.bytes FROM apps a JOIN app_blobs b ON b.sha256 = a.sha256 WHERE a.id = ?',
  deleteApp: 'DELETE FROM apps WHERE id = ?',
  /** Its bytes too, unless another release has the same. Parameter: the app id (before it is deleted). */
  deleteBlob:
    'DELETE FROM app_blobs WHERE sha256 = (SELECT sha256 FROM apps WHERE id = ?) ' +
    'AND NOT EXISTS (SELECT 1 FROM apps a WHERE a.sha256 = app_blobs.sha256 AND a.id <> ?)',

  /** Made only while its app exists; the last parameter is the app id. */
  insertDeployment:
    `INSERT INTO deployments (${DEPLOYMENT.replace('seq, ', '')}) ` +
    'SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM apps WHERE id = ?)',
  /** Parameters: the deployment id, a JSON array of [device_id, seq, batch, previous_app_id], the id again. */
  insertDeploymentDevices:
    'INSERT INTO deployment_devices (deployment_id, device_id, seq, batch, previous_app_id, state) ' +
    "SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), " +
    "json_extract(value, '$[3]'), 'pending' FROM json_each(?) WHERE EXISTS (SELECT 1 FROM deployments WHERE id = ?)",
  getDeployment: `SELECT ${DEPLOYMENT} FROM deployments WHERE id = ?`,
  listDeployments: `SELECT ${DEPLOYMENT} FROM deployments ORDER BY seq DESC LIMIT ?`,
  listDeploymentsAfter: `SELECT ${DEPLOYMENT} FROM deployments WHERE seq < ? ORDER BY seq DESC LIMIT ?`,
  rollingDeployments: `SELECT ${DEPLOYMENT} FROM deployments WHERE state = 'rolling' ORDER BY seq`,
  /** Parameters: state, batch, batch_done_at, reason, updated_at, id, the version it was read at. */
  saveProgress:
    'UPDATE deployments SET state = ?, batch = ?, batch_done_at = ?, reason = ?, updated_at = ?, ' +
    'version = version + 1 WHERE id = ? AND version = ?',
  /** Parameters: the silence cutoff (see STATUS), deployment id, after seq, limit. */
  deploymentDevices: `SELECT ${DEVICE_ROW}, ${STATUS} AS status ${DEVICES_PAGE}`,
  deploymentDevicesWithHeartbeats: `SELECT ${DEVICE_ROW}, ${STATUS} AS status, heartbeat ${DEVICES_PAGE}`,
  /** One parameter: a JSON array of device ids. */
  deviceDeployments: NEWEST_PER_NAME.replace('%WHERE%', 'dd.device_id IN (SELECT value FROM json_each(?))'),
  /** One parameter: the app name. */
  appNameDeployments: NEWEST_PER_NAME.replace('%WHERE%', 'd.app_name = ?'),
  /** One JSON parameter of [deployment_id, device_id, state, reason, at, running_at] rows. */
  recordReports:
    'UPDATE deployment_devices SET state = r.state, reason = r.reason, reported_at = r.at, ' +
    'running_at = ifnull(deployment_devices.running_at, r.running_at) ' +
    "FROM (SELECT json_extract(value, '$[0]') AS dep, json_extract(value, '$[1]') AS dev, " +
    "json_extract(value, '$[2]') AS state, json_extract(value, '$[3]') AS reason, " +
    "json_extract(value, '$[4]') AS at, json_extract(value, '$[5]') AS running_at FROM json_each(?)) AS r " +
    'WHERE deployment_devices.deployment_id = r.dep AND deployment_devices.device_id = r.dev',
  /** Parameters: a JSON array of device ids, from, to. */
  devicesWithAnomalies:
    'SELECT count(DISTINCT device_id) AS n FROM anomalies WHERE device_id IN (SELECT value FROM json_each(?)) ' +
    "AND ts >= ? AND ts < ? AND kind <> 'device_unreachable'",
} as const
