// Which Durable Object serves a request, in one place. Detector state must have one writer per
// device (ARCHITECTURE.md, principle 3), so a device's streaming state lives in exactly one shard:
// the shard whose index is a stable hash of its device id modulo the shard count. Whatever has no
// device (enrolment tokens, apps, deployments, reads, the sweep and retention alarms) stays on
// shard 0, the one designated fleet writer. Pure functions only: index.ts does the fetching.

/** Shards when EDGEWATCH_SHARDS is unset. */
export const DEFAULT_SHARDS = 4
/** Beyond this the fan-out of one mixed batch costs more than the shards give back. */
export const MAX_SHARDS = 64

/** The shard count from EDGEWATCH_SHARDS (1 to MAX_SHARDS); throws with a message when it is not one. */
export function shardCount(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_SHARDS
  const n = Number(value.trim())
  if (!Number.isInteger(n) || n < 1 || n > MAX_SHARDS)
    throw new Error(
      `EDGEWATCH_SHARDS must be a whole number from 1 to ${MAX_SHARDS}, not ${value.slice(0, 20)}`,
    )
  return n
}

const encoder = new TextEncoder()

/**
 * 32-bit FNV-1a over the id's UTF-8 bytes. Chosen because it is tiny, synchronous (no WebCrypto
 * round trip per record) and spreads short, similar ids (pump-1, pump-2, …) well. It must never
 * change: a device's shard is where its state is, and moving it is a re-shard.
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5
  for (const byte of encoder.encode(text)) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** The shard that owns a device's state. */
export function shardOf(deviceId: string, shards: number): number {
  return shards === 1 ? 0 : fnv1a32(deviceId) % shards
}

/**
 * The Durable Object name of a shard. Shard 0 keeps the name the single object had ('fleet'), so
 * a deployment that grows from one object keeps its alarm and its fleet writer where they were.
 */
export function shardName(index: number): string {
  return index === 0 ? 'fleet' : `shard-${index}`
}

/** The header the front door sets on every request it hands to a shard: the shard's index. */
export const SHARD_HEADER = 'x-edgewatch-shard'

/** How the front door treats a request. */
export type Route =
  /** POST /v1/ingest: a device token's batch goes to its shard; any other batch is split by device. */
  | { kind: 'ingest' }
  /** Influx line protocol writes: a device token's to its shard; any other is split by device. */
  | { kind: 'influx'; api: 'v1' | 'v2' }
  /** OTLP exports: a device token's to its shard; any other is split by device. */
  | { kind: 'otlp'; signal: 'logs' | 'metrics' }
  /** POST /v1/gateway/relay: every part is routed on its own. */
  | { kind: 'relay' }
  /** A device's own route (heartbeat, goodbye, its apps): the shard of the device its token names. */
  | { kind: 'device-token' }
  /** An admin route under /v1/devices/{id}: that device's shard (a revocation forgets its tokens there). */
  | { kind: 'device'; deviceId: string }
  /** GET /metrics?shard=i: that shard's own counters (each shard counts what it did). */
  | { kind: 'shard'; index: number }
  /** Everything else: shard 0. */
  | { kind: 'fleet' }

const DEVICE_PATH = /^\/v1\/devices\/([^/]+)(?:\/|$)/

export function routeOf(method: string, path: string, query = ''): Route {
  if (method === 'GET' && path === '/metrics') {
    const shard = /(?:^|[?&])shard=(\d{1,2})(?:&|$)/.exec(query)
    if (shard) return { kind: 'shard', index: Number(shard[1]) }
  }
  if (method === 'POST' && path === '/v1/ingest') return { kind: 'ingest' }
  if (method === 'POST' && path === '/v1/write') return { kind: 'influx', api: 'v1' }
  if (method === 'POST' && path === '/api/v2/write') return { kind: 'influx', api: 'v2' }
  if (method === 'POST' && path === '/v1/otlp/v1/logs') return { kind: 'otlp', signal: 'logs' }
  if (method === 'POST' && path === '/v1/otlp/v1/metrics') return { kind: 'otlp', signal: 'metrics' }
  if (method === 'POST' && path === '/v1/gateway/relay') return { kind: 'relay' }
  if (method === 'POST' && (path === '/v1/device/heartbeat' || path === '/v1/device/goodbye'))
    return { kind: 'device-token' }
  if (method === 'GET' && path.startsWith('/v1/device/apps/')) return { kind: 'device-token' }
  const device = DEVICE_PATH.exec(path)
  if (device) {
    try {
      return { kind: 'device', deviceId: decodeURIComponent(device[1]!) }
    } catch {
      return { kind: 'fleet' } // not a device id the app could read either: it answers
    }
  }
  return { kind: 'fleet' }
}
