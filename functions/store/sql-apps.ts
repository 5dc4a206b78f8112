// The apps store over any D1-shaped database (D1, Spin's SQLite, better-sqlite3): the SQL is in
// apps-sql.ts. A deployment's progress is saved only over the version it was computed from, so two
// instances advancing the same deployment at once cannot both move it.
import type { DeploymentState, DeviceAppState, Rollout } from '../domain/apps/rollout.js'
import type { DeviceStatus } from '../domain/types.js'
import type {
  AppRelease,
  AppReport,
  AppStore,
  Deployment,
  DeploymentDevice,
  DeploymentDeviceNow,
  DeploymentTarget,
  DeviceDeployment,
} from './apps-port.js'
import { APPS_SQL as A, targetDevicesSql } from './apps-sql.js'
import type { Liveness } from './fleet-port.js'
import { hex, jsonChunks } from './json-rows.js'
import { appCursor, deploymentCursor, toPage } from './paging.js'
import type { PageQuery } from './port.js'
import type { D1Database, D1Statement } from './sql-store.js'

interface AppRow {
  seq: number
  id: string
  name: string
  version: string
  sha256: string
  size: number
  memory_pages: number
  fuel: number
  tick_ms: number
  wall_ms: number
  max_restarts: number
  telemetry: 'add' | 'replace'
  imports: string
  created_at: number
}

interface DeploymentRow {
  seq: number
  id: string
  app_id: string
  app_name: string
  target: string
  rollout: string
  state: DeploymentState
  batch: number
  batch_done_at: number | null
  reason: string | null
  version: number
  created_at: number
  updated_at: number
}

interface DeviceRow {
  device_id: string
  seq: number
  batch: number
  previous_app_id: string | null
  state: DeviceAppState
  reason: string | null
  running_at: number | null
  reported_at: number | null
  status: DeviceStatus | null
  heartbeat?: string | null
}

interface NewestRow {
  device_id: string
  deployment_id: string
  app_id: string
  app_name: string
  state: DeploymentState
  current_batch: number
  batch: number
  previous_app_id: string | null
  device_state: DeviceAppState
  reason: string | null
  running_at: number | null
}

const toApp = (r: AppRow): AppRelease => ({
  id: r.id,
  name: r.name,
  version: r.version,
  sha256: r.sha256,
  size: r.size,
  limits: {
    memoryPages: r.memory_pages,
    fuel: r.fuel,
    tickMs: r.tick_ms,
    wallMs: r.wall_ms,
    maxRestarts: r.max_restarts,
  },
  telemetry: r.telemetry,
  imports: JSON.parse(r.imports) as string[],
  createdAt: r.created_at,
})

const toDeployment = (r: DeploymentRow): Deployment => ({
  id: r.id,
  appId: r.app_id,
  appName: r.app_name,
  target: JSON.parse(r.target) as Deployment['target'],
  rollout: JSON.parse(r.rollout) as Rollout,
  state: r.state,
  batch: r.batch,
  batchDoneAt: r.batch_done_at,
  reason: r.reason,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

const toDeploymentDevice = (r: DeviceRow): DeploymentDeviceNow => ({
  deviceId: r.device_id,
  seq: r.seq,
  batch: r.batch,
  previousAppId: r.previous_app_id,
  state: r.state,
  reason: r.reason,
  runningAt: r.running_at,
  reportedAt: r.reported_at,
  status: r.status,
  heartbeat: r.heartbeat ? (JSON.parse(r.heartbeat) as Record<string, unknown>) : undefined,
})

const toDeviceDeployment = (r: NewestRow): DeviceDeployment => ({
  deviceId: r.device_id,
  deploymentId: r.deployment_id,
  appId: r.app_id,
  appName: r.app_name,
  state: r.state,
  currentBatch: r.current_batch,
  batch: r.batch,
  previousAppId: r.previous_app_id,
  deviceState: r.device_state,
  reason: r.reason,
  runningAt: r.running_at,
})

export class SqlAppStore implements AppStore {
  constructor(private readonly db: D1Database) {}

  async addApp(app: AppRelease, bytes: Uint8Array): Promise<boolean> {
    const [added] = await this.db.batch([
      this.bind(A.insertApp, [
        app.id,
        app.name,
        app.version,
        app.sha256,
        app.size,
        app.limits.memoryPages,
        app.limits.fuel,
        app.limits.tickMs,
        app.limits.wallMs,
        app.limits.maxRestarts,
        app.telemetry,
        JSON.stringify(app.imports),
        app.createdAt,
      ]),
      this.bind(A.insertBlob, [app.sha256, hex(bytes)]),
    ])
    return added!.meta.changes > 0
  }

  async listApps(query: PageQuery) {
    const rows =
      query.cursor === undefined
        ? await this.all<AppRow>(A.listApps, [query.limit + 1])
        : await this.all<AppRow>(A.listAppsAfter, [appCursor.decode(query.cursor), query.limit + 1])
    const page = toPage(rows, query.limit, (r) => appCursor.encode(r.seq))
    return { items: page.items.map(toApp), next: page.next }
  }

  async getApps(ids: string[]): Promise<Map<string, AppRelease>> {
    const out = new Map<string, AppRelease>()
    if (ids.length === 0) return out
    for (const r of await this.all<AppRow>(A.getApps, [JSON.stringify(ids)])) out.set(r.id, toApp(r))
    return out
  }

  async appBytes(id: string): Promise<Uint8Array | undefined> {
    const row = await this.bind(A.appBytes, [id]).first<{ bytes: ArrayLike<number> | ArrayBuffer }>()
    return row ? new Uint8Array(row.bytes as ArrayLike<number>) : undefined
  }

  async deleteApp(id: string): Promise<boolean> {
    const [, deleted] = await this.db.batch([this.bind(A.deleteBlob, [id, id]), this.bind(A.deleteApp, [id])])
    return deleted!.meta.changes > 0
  }

  async targetDevices(target: DeploymentTarget, limit: number): Promise<string[]> {
    const { sql, params } = targetDevicesSql(target, limit)
    return (await this.all<{ device_id: string }>(sql, params)).map((r) => r.device_id)
  }

  async createDeployment(d: Deployment, devices: DeploymentDevice[]): Promise<boolean> {
    const rows = devices.map((x) => JSON.stringify([x.deviceId, x.seq, x.batch, x.previousAppId]))
    const [made] = await this.db.batch([
      this.bind(A.insertDeployment, [
        d.id,
        d.appId,
        d.appName,
        JSON.stringify(d.target),
        JSON.stringify(d.rollout),
        d.state,
        d.batch,
        d.batchDoneAt,
        d.reason,
        d.version,
        d.createdAt,
        d.updatedAt,
        d.appId,
      ]),
      ...jsonChunks(rows).map((json) => this.bind(A.insertDeploymentDevices, [d.id, json, d.id])),
    ])
    return made!.meta.changes > 0
  }

  async getDeployment(id: string): Promise<Deployment | undefined> {
    const row = await this.bind(A.getDeployment, [id]).first<DeploymentRow>()
    return row ? toDeployment(row) : undefined
  }

  async listDeployments(query: PageQuery) {
    const rows =
      query.cursor === undefined
        ? await this.all<DeploymentRow>(A.listDeployments, [query.limit + 1])
        : await this.all<DeploymentRow>(A.listDeploymentsAfter, [
            deploymentCursor.decode(query.cursor),
            query.limit + 1,
          ])
    const page = toPage(rows, query.limit, (r) => deploymentCursor.encode(r.seq))
    return { items: page.items.map(toDeployment), next: page.next }
  }

  async rollingDeployments(): Promise<Deployment[]> {
    return (await this.all<DeploymentRow>(A.rollingDeployments, [])).map(toDeployment)
  }

  async deploymentDevices(
    id: string,
    liveness: Liveness,
    page: { afterSeq: number; limit: number; heartbeats: boolean },
  ): Promise<DeploymentDeviceNow[]> {
    const sql = page.heartbeats ? A.deploymentDevicesWithHeartbeats : A.deploymentDevices
    const params = [liveness.now - liveness.timeoutMs, id, page.afterSeq, page.limit]
    return (await this.all<DeviceRow>(sql, params)).map(toDeploymentDevice)
  }

  async saveProgress(
    id: string,
    version: number,
    p: { state: DeploymentState; batch: number; batchDoneAt: number | null; reason: string | null },
    at: number,
  ): Promise<boolean> {
    const result = await this.bind(A.saveProgress, [
      p.state,
      p.batch,
      p.batchDoneAt,
      p.reason,
      at,
      id,
      version,
    ]).run()
    return result.meta.changes > 0
  }

  async deviceDeployments(deviceIds: string[]): Promise<DeviceDeployment[]> {
    if (deviceIds.length === 0) return []
    return (await this.all<NewestRow>(A.deviceDeployments, [JSON.stringify(deviceIds)])).map(
      toDeviceDeployment,
    )
  }

  async appNameDeployments(name: string): Promise<DeviceDeployment[]> {
    return (await this.all<NewestRow>(A.appNameDeployments, [name])).map(toDeviceDeployment)
  }

  async recordReports(reports: AppReport[]): Promise<void> {
    if (reports.length === 0) return
    const rows = reports.map((r) =>
      JSON.stringify([r.deploymentId, r.deviceId, r.state, r.reason, r.at, r.runningAt]),
    )
    await this.db.batch(jsonChunks(rows).map((json) => this.bind(A.recordReports, [json])))
  }

  async devicesWithAnomalies(deviceIds: string[], from: number, to: number): Promise<number> {
    if (deviceIds.length === 0) return 0
    const row = await this.bind(A.devicesWithAnomalies, [JSON.stringify(deviceIds), from, to]).first<{
      n: number
    }>()
    return row?.n ?? 0
  }

  private bind(sql: string, params: unknown[]): D1Statement {
    return this.db.prepare(sql).bind(...params)
  }

  private async all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (await this.bind(sql, params).all<T>()).results
  }
}
