// The fleet's timings, in one place: what the server tells devices, and how long credentials last.
export interface FleetOptions {
  /** How often devices send a heartbeat (the answer to each heartbeat says so). */
  heartbeatIntervalMs: number
  /** Silent longer than this, a device is unreachable. */
  heartbeatTimeoutMs: number
  /** How long a device token lasts; the agent gets a new one by signing a challenge. */
  deviceTokenTtlMs: number
  /** How long a challenge may wait for its signature. */
  challengeTtlMs: number
  /** How far an enrolment's timestamp may be from the server's clock (a replay is refused past it). */
  enrolWindowMs: number
}

export const DEFAULT_FLEET_OPTIONS: FleetOptions = {
  heartbeatIntervalMs: 30_000,
  heartbeatTimeoutMs: 90_000,
  deviceTokenTtlMs: 15 * 60_000,
  challengeTtlMs: 60_000,
  enrolWindowMs: 10 * 60_000,
}
