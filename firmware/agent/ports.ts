// The device agent's ports: everything it needs from its host, and nothing more. The core uses only
// what every JS host has (fetch, WebCrypto, timers, TextEncoder); a host supplies these four things.
// (Apps run on a fifth, optional one: an AppHost, see apps/ports.ts.)
import type { AppStore } from './apps/ports.js'

/** Time, behind one object so that tests can drive a fake clock. */
export interface Clock {
  /** Epoch milliseconds, the device's own idea of the time. */
  now(): number
  /** Resolves after `ms`; rejects with `signal.reason` when the signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/**
 * A sensor (the same shape as firmware/sensors/sensor.ts, structural so the core does not depend on it).
 * `read(tMs)` gives one value per channel for the time `tMs`.
 */
export interface Sensor {
  kind: string
  channels(): string[]
  read(tMs: number): Record<string, number>
}

/** The device's identity: its key pair and, once enrolled, the id the server gave it. */
export interface Identity {
  keyPair: CryptoKeyPair
  deviceId: string | null
}

export interface IdentityStore {
  /**
   * Whether the private key must be extractable for this store to keep it: a store that writes a JWK
   * file needs it, a store that keeps the CryptoKey itself (IndexedDB) does not, and then the key can
   * never be read out of the device at all.
   */
  readonly extractableKeys: boolean
  loadIdentity(): Promise<Identity | null>
  saveIdentity(identity: Identity): Promise<void>
}

/** One sealed batch of readings as it waits in the outbox. Immutable once sealed. */
export interface SealedBatch {
  /** Also the batch's Idempotency-Key: stable across retries and restarts. */
  id: string
  /** When it was sealed (clock.now()). */
  createdAt: number
  /** How many records the body holds. */
  records: number
  /** NDJSON, one record per line. */
  body: string
}

/**
 * The bounded outbox. Order is the order of `append`. Implementations keep it across restarts and
 * never lose a batch silently: a batch leaves only by `delete` (acked or rejected) or by the bound,
 * and the bound counts what it drops in a counter that persists too.
 */
export interface Outbox {
  /**
   * Appends a batch; then, while more than `limit` batches are kept, drops the oldest and adds them
   * to the dropped counter, as one step as far as the medium allows. Answers how many were dropped.
   */
  append(batch: SealedBatch, limit: number): Promise<number>
  /** Up to `n` batches, oldest first. */
  oldest(n: number): Promise<SealedBatch[]>
  /** Removes batches by id; unknown ids are ignored. */
  delete(ids: readonly string[]): Promise<void>
  count(): Promise<number>
  /** Batches dropped by the bound (or found unreadable) since the storage was first created. */
  dropped(): Promise<number>
}

export interface AgentStorage {
  identity: IdentityStore
  outbox: Outbox
  /** App modules by sha256, kept across restarts (default: in memory only, downloaded again after one). */
  apps?: AppStore
}
