// For the front door's tests: apps over one SQLite store in memory (as a Worker's shards share one
// D1), four of them behind a front door, and which shards each device's records were sent to, so a
// test can check that a device is written by its own shard only.
import { loadNodeKernel } from '../../kernels/node.js'
import { createApp } from '../app.js'
import { resolveAnalysisConfig } from '../domain/analysis-config.js'
import { InFlight } from '../http/in-flight.js'
import type { Store } from '../store/port.js'
import { openSqliteStore } from '../store/sqlite.js'
import { DeviceTokens } from './device-tokens.js'
import { FrontDoor } from './front-door.js'

export interface Tokens {
  ingest: string
  admin: string
}

/** One app, as a single writer: what the sharded one must answer and store alike. */
export async function oneApp(store: Store, tokens: Tokens) {
  return createApp({
    store,
    kernel: await loadNodeKernel(),
    analysis: resolveAnalysisConfig({}),
    tokens: { ingest: [tokens.ingest], admin: [tokens.admin] },
    bodyLimitBytes: 8 << 20,
  })
}

/**
 * Four apps on one store behind a front door. `devicesOf` reads which devices a request sent to a
 * shard writes (an empty list for requests that write none).
 */
export async function shardedApps(tokens: Tokens, devicesOf: (request: Request) => Promise<string[]>) {
  const store = openSqliteStore(':memory:')
  const apps = await Promise.all([0, 1, 2, 3].map(() => oneApp(store, tokens)))
  const writers = new Map<string, Set<number>>()
  const door = new FrontDoor({
    shards: 4,
    send: async (shard, request) => {
      for (const device of await devicesOf(request.clone()))
        writers.set(device, new Set([...(writers.get(device) ?? []), shard]))
      return apps[shard]!.fetch(request)
    },
    devices: new DeviceTokens(store.fleet),
    isServiceToken: (t) => t === tokens.ingest || t === tokens.admin,
    bodies: new InFlight(64 << 20),
    bodyLimitBytes: 8 << 20,
    idempotencyTtlMs: 86_400_000,
    influxDeviceTags: ['device', 'host'],
    findIdempotent: (key, notBefore) => store.findIdempotent(key, notBefore),
  })
  return { door, writers }
}
