// The storage port of the fleet (enrolment, device credentials, heartbeats, events): what the fleet
// routes need from a database, beside the ingest port (port.ts). Every write that must hold
// whatever other writers do (the last use of an enrolment token, a single-use challenge) is decided
// inside the database, so several instances on one database stay correct.
import type { DeviceEvent, DeviceStatus } from '../domain/types.js'
import type { PageQuery } from './port.js'

/** What status is derived from: the time now, and how long a device may stay silent (ms). */
export interface Liveness {
  now: number
  timeoutMs: number
}

export interface EnrolmentToken {
  id: string
  labels: Record<string, string>
  maxUses: number
  uses: number
  expiresAt: number
  createdAt: number
  revokedAt: number | undefined
}

/** What the server knows to check a device's signatures and rights. */
export interface DeviceIdentity {
  deviceId: string
  /** The public key, a JWK (EC, P-256). */
  publicKey: JsonWebKey
  thumbprint: string
  enrolmentTokenId: string | undefined
  revokedAt: number | undefined
}

export interface Enrolment {
  deviceId: string
  publicKey: JsonWebKey
  thumbprint: string
  name: string | undefined
  labels: Record<string, string>
  agentVersion: string | undefined
  tokenId: string
  at: number
}

export interface Heartbeat {
  deviceId: string
  at: number
  agentVersion: string | undefined
  /** The heartbeat's body as JSON (bounded by its schema). */
  body: string
}

export type DeviceEventInput = Omit<DeviceEvent, 'id'>

export interface BeatHistory {
  lastHeartbeat: number | undefined
  goodbyeAt: number | undefined
  unreachableAt: number | undefined
}

/** What a device sent over a span of time. */
export interface DeviceActivity {
  records: number
  anomalies: number
}

export class EnrolmentRefusedError extends Error {
  override name = 'EnrolmentRefusedError'
}

export interface FleetStore {
  createEnrolmentToken(token: EnrolmentToken, tokenHash: string): Promise<void>
  listEnrolmentTokens(query: PageQuery): Promise<{ items: EnrolmentToken[]; next: string | null }>
  findEnrolmentToken(tokenHash: string): Promise<EnrolmentToken | undefined>
  /** The token, revoked (at `at`, or earlier); undefined when there is no such token. */
  revokeEnrolmentToken(id: string, at: number): Promise<EnrolmentToken | undefined>

  getIdentity(deviceId: string): Promise<DeviceIdentity | undefined>
  findByThumbprint(thumbprint: string): Promise<DeviceIdentity | undefined>
  /**
   * Uses the enrolment token once and enrols the device, atomically. Throws EnrolmentRefusedError
   * (nothing written) when the token was used up, revoked or expired meanwhile.
   */
  enrol(enrolment: Enrolment): Promise<void>

  /** Stores a challenge, keeping only the device's newest few. */
  addChallenge(challenge: string, deviceId: string, expiresAt: number): Promise<void>
  /** Deletes the challenge and says whether it was there, for this device, unexpired (single use). */
  takeChallenge(challenge: string, deviceId: string, now: number): Promise<boolean>
  addDeviceToken(tokenHash: string, deviceId: string, expiresAt: number): Promise<void>
  findDeviceToken(
    tokenHash: string,
  ): Promise<{ deviceId: string; expiresAt: number; revoked: boolean } | undefined>

  /** Heartbeats and the status changes they bring, in one transaction. */
  recordHeartbeats(beats: Heartbeat[], events: DeviceEventInput[]): Promise<void>
  /** When these devices last beat, said goodbye and were noted silent (absent: no such device). */
  beatHistory(deviceIds: string[]): Promise<Map<string, BeatHistory>>
  goodbye(deviceId: string, at: number): Promise<void>
  /** False when there is no such managed device. */
  update(
    deviceId: string,
    change: { name?: string | undefined; labels?: Record<string, string> },
    at: number,
  ): Promise<boolean>
  /** Revokes the device: its tokens are refused at once. False when there is no such managed device. */
  revoke(deviceId: string, at: number): Promise<boolean>
  listEvents(deviceId: string, query: PageQuery): Promise<{ items: DeviceEvent[]; next: string | null }>
  /**
   * Notes devices that went silent past the timeout since last noted: an `unreachable` event and a
   * `device_unreachable` anomaly each. Returns them (at most `limit`).
   */
  sweepUnreachable(liveness: Liveness, limit: number): Promise<{ deviceId: string; silentSince: number }[]>
  countByStatus(liveness: Liveness): Promise<Record<DeviceStatus, number>>
  /**
   * Records and anomalies of these devices stored in minutes starting at or after `since` (epoch ms,
   * counted per minute of arrival; kept for two hours). Absent: nothing stored in that span.
   */
  activity(deviceIds: string[], since: number): Promise<Map<string, DeviceActivity>>
}
