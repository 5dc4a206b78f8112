// The fleet store over any D1-shaped database (D1, Spin's SQLite, better-sqlite3): the SQL is in
// fleet-sql.ts. Writes that must hold against other writers go in one batch (one transaction) whose
// statements carry their own conditions, so a race is decided inside the database.
import { DEVICE_STATUSES, type DeviceStatus } from '../domain/types.js'
import { errorText } from '../observability/error-text.js'
import {
  type BeatHistory,
  type DeviceActivity,
  type DeviceEventInput,
  type DeviceIdentity,
  type Enrolment,
  EnrolmentRefusedError,
  type EnrolmentToken,
  type FleetStore,
  type Heartbeat,
  type Liveness,
} from './fleet-port.js'
import {
  countByStatusSql,
  FLEET_SQL as F,
  INSERT_EVENTS,
  noteSilentSql,
  silentDevicesSql,
  updateDeviceSql,
} from './fleet-sql.js'
import { jsonChunks, jsonRowsInserts } from './json-rows.js'
import { deviceEventCursor, enrolmentTokenCursor, toPage } from './paging.js'
import type { PageQuery } from './port.js'
import { type DeviceEventRow, toDeviceEvent } from './rows.js'
import type { D1Database, D1Statement } from './sql-store.js'

/** Challenges kept per device: a device asks for one at a time; a flood of requests cannot grow the table. */
const CHALLENGES_KEPT = 4

interface TokenRow {
  seq?: number
  id: string
  labels: string
  max_uses: number
  uses: number
  expires_at: number
  created_at: number
  revoked_at: number | null
}

interface IdentityRow {
  device_id: string
  public_key: string
  thumbprint: string
  enrolment_token_id: string | null
  revoked_at: number | null
}

const toToken = (r: TokenRow): EnrolmentToken => ({
  id: r.id,
  labels: JSON.parse(r.labels) as Record<string, string>,
  maxUses: r.max_uses,
  uses: r.uses,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  revokedAt: r.revoked_at ?? undefined,
})

const toIdentity = (r: IdentityRow): DeviceIdentity => ({
  deviceId: r.device_id,
  publicKey: JSON.parse(r.public_key) as JsonWebKey,
  thumbprint: r.thumbprint,
  enrolmentTokenId: r.enrolment_token_id ?? undefined,
  revokedAt: r.revoked_at ?? undefined,
})

export class SqlFleetStore implements FleetStore {
  constructor(private readonly db: D1Database) {}

  async createEnrolmentToken(t: EnrolmentToken, tokenHash: string): Promise<void> {
    await this.run(F.insertToken, [
      t.id,
      tokenHash,
      JSON.stringify(t.labels),
      t.maxUses,
      t.expiresAt,
      t.createdAt,
    ])
  }

  async listEnrolmentTokens(query: PageQuery): Promise<{ items: EnrolmentToken[]; next: string | null }> {
    const rows =
      query.cursor === undefined
        ? await this.all<TokenRow>(F.listTokens, [query.limit + 1])
        : await this.all<TokenRow>(F.listTokensAfter, [
            enrolmentTokenCursor.decode(query.cursor),
            query.limit + 1,
          ])
    const page = toPage(rows, query.limit, (r) => enrolmentTokenCursor.encode(r.seq!))
    return { items: page.items.map(toToken), next: page.next }
  }

  async findEnrolmentToken(tokenHash: string): Promise<EnrolmentToken | undefined> {
    const row = await this.first<TokenRow>(F.findToken, [tokenHash])
    return row ? toToken(row) : undefined
  }

  async revokeEnrolmentToken(id: string, at: number): Promise<EnrolmentToken | undefined> {
    await this.run(F.revokeToken, [at, id])
    const row = await this.first<TokenRow>(F.tokenById, [id])
    return row ? toToken(row) : undefined
  }

  async getIdentity(deviceId: string): Promise<DeviceIdentity | undefined> {
    const row = await this.first<IdentityRow>(F.identity, [deviceId])
    return row ? toIdentity(row) : undefined
  }

  async findByThumbprint(thumbprint: string): Promise<DeviceIdentity | undefined> {
    const row = await this.first<IdentityRow>(F.identityByThumbprint, [thumbprint])
    return row ? toIdentity(row) : undefined
  }

  async enrol(e: Enrolment): Promise<void> {
    const statements = [
      this.bind(F.useToken, [e.at, e.tokenId]),
      this.bind(F.enrolDevice, [
        e.deviceId,
        e.at,
        e.at,
        e.at,
        e.name ?? null,
        JSON.stringify(e.labels),
        JSON.stringify(e.publicKey),
        e.thumbprint,
        e.at,
        e.tokenId,
        e.agentVersion ?? null,
      ]),
      ...this.events([{ deviceId: e.deviceId, ts: e.at, kind: 'enrolled', detail: `token ${e.tokenId}` }]),
    ]
    try {
      await this.db.batch(statements)
    } catch (error) {
      if (errorText(error).includes('edgewatch: enrolment token refused'))
        throw new EnrolmentRefusedError('the enrolment token was used up, revoked or expired meanwhile')
      throw error
    }
  }

  async addChallenge(challenge: string, deviceId: string, expiresAt: number): Promise<void> {
    await this.db.batch([
      this.bind(F.addChallenge, [challenge, deviceId, expiresAt]),
      this.bind(F.trimChallenges, [deviceId, deviceId, CHALLENGES_KEPT]),
    ])
  }

  async takeChallenge(challenge: string, deviceId: string, now: number): Promise<boolean> {
    return (await this.run(F.takeChallenge, [challenge, deviceId, now])) === 1
  }

  async addDeviceToken(tokenHash: string, deviceId: string, expiresAt: number): Promise<void> {
    await this.run(F.addToken, [tokenHash, deviceId, expiresAt])
  }

  async findDeviceToken(tokenHash: string) {
    const row = await this.first<{ device_id: string; expires_at: number; revoked_at: number | null }>(
      F.findDeviceToken,
      [tokenHash],
    )
    return row
      ? { deviceId: row.device_id, expiresAt: row.expires_at, revoked: row.revoked_at !== null }
      : undefined
  }

  async recordHeartbeats(beats: Heartbeat[], events: DeviceEventInput[]): Promise<void> {
    if (beats.length === 0) return
    const rows = beats.map((b) => JSON.stringify([b.deviceId, b.at, b.agentVersion ?? null, b.body]))
    await this.db.batch([
      ...jsonChunks(rows).map((json) => this.bind(F.heartbeats, [json])),
      ...this.events(events),
    ])
  }

  async beatHistory(deviceIds: string[]): Promise<Map<string, BeatHistory>> {
    const out = new Map<string, BeatHistory>()
    if (deviceIds.length === 0) return out
    type Row = {
      device_id: string
      last_heartbeat: number | null
      goodbye_at: number | null
      unreachable_at: number | null
    }
    for (const r of await this.all<Row>(F.beatHistory, [JSON.stringify(deviceIds)]))
      out.set(r.device_id, {
        lastHeartbeat: r.last_heartbeat ?? undefined,
        goodbyeAt: r.goodbye_at ?? undefined,
        unreachableAt: r.unreachable_at ?? undefined,
      })
    return out
  }

  async goodbye(deviceId: string, at: number): Promise<void> {
    await this.db.batch([
      this.bind(F.goodbye, [at, deviceId]),
      ...this.events([{ deviceId, ts: at, kind: 'disconnected', detail: 'said goodbye' }]),
    ])
  }

  async update(
    deviceId: string,
    change: { name?: string | undefined; labels?: Record<string, string> },
    at: number,
  ) {
    if ((await this.first(F.deviceExists, [deviceId])) === undefined) return false
    const { sql, params } = updateDeviceSql(change, deviceId)
    const detail = JSON.stringify(change)
    const [result] = await this.db.batch([
      this.bind(sql, params),
      ...this.events([{ deviceId, ts: at, kind: 'updated', detail }]),
    ])
    return result!.meta.changes > 0
  }

  async revoke(deviceId: string, at: number): Promise<boolean> {
    const identity = await this.getIdentity(deviceId)
    if (!identity) return false
    if (identity.revokedAt !== undefined) return true
    await this.db.batch([
      // Its tokens stay (until they expire) so that using one says `device_revoked`, not `invalid_token`.
      this.bind(F.revoke, [at, deviceId]),
      this.bind(F.dropChallenges, [deviceId]),
      ...this.events([{ deviceId, ts: at, kind: 'revoked', detail: undefined }]),
    ])
    return true
  }

  async listEvents(deviceId: string, query: PageQuery) {
    const rows =
      query.cursor === undefined
        ? await this.all<DeviceEventRow>(F.listEvents, [deviceId, query.limit + 1])
        : await this.all<DeviceEventRow>(F.listEventsAfter, [
            deviceId,
            deviceEventCursor.decode(query.cursor),
            query.limit + 1,
          ])
    return toPage(rows.map(toDeviceEvent), query.limit, (e) => deviceEventCursor.encode(e.id))
  }

  async sweepUnreachable(liveness: Liveness, limit: number) {
    const { sql, params } = silentDevicesSql(liveness, limit)
    const silent = await this.all<{ device_id: string; heard: number }>(sql, params)
    if (silent.length === 0) return []
    const ids = JSON.stringify(silent.map((s) => s.device_id))
    await this.db.batch(noteSilentSql(ids, liveness).map((s) => this.bind(s.sql, s.params)))
    return silent.map((s) => ({ deviceId: s.device_id, silentSince: s.heard }))
  }

  async countByStatus(liveness: Liveness): Promise<Record<DeviceStatus, number>> {
    const out = Object.fromEntries(DEVICE_STATUSES.map((s) => [s, 0])) as Record<DeviceStatus, number>
    const { sql, params } = countByStatusSql(liveness)
    for (const r of await this.all<{ status: DeviceStatus; n: number }>(sql, params)) out[r.status] = r.n
    return out
  }

  async activity(deviceIds: string[], since: number): Promise<Map<string, DeviceActivity>> {
    const out = new Map<string, DeviceActivity>()
    if (deviceIds.length === 0) return out
    type Row = { device_id: string; records: number; anomalies: number }
    for (const list of jsonChunks(deviceIds.map((id) => JSON.stringify(id))))
      for (const r of await this.all<Row>(F.activity, [since, since, since, since, list]))
        out.set(r.device_id, { records: r.records, anomalies: r.anomalies })
    return out
  }

  private events(events: DeviceEventInput[]): D1Statement[] {
    return jsonRowsInserts(this.db, INSERT_EVENTS, events, (e, p) => {
      p[0] = e.deviceId
      p[1] = e.ts
      p[2] = e.kind
      p[3] = e.detail ?? null
    })
  }

  private bind(sql: string, params: unknown[]): D1Statement {
    return this.db.prepare(sql).bind(...params)
  }

  private async run(sql: string, params: unknown[]): Promise<number> {
    return (await this.bind(sql, params).run()).meta.changes
  }

  private async first<T>(sql: string, params: unknown[]): Promise<T | undefined> {
    return (await this.bind(sql, params).first<T>()) ?? undefined
  }

  private async all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (await this.bind(sql, params).all<T>()).results
  }
}
