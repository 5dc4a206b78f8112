// The Workers entry: a stateless front door (front-door.ts) in front of EDGEWATCH_SHARDS Durable
// Objects, each running the same Hono app over the one D1 database. A shard is the single writer of
// the detector state of the devices that hash to it (shards.ts): concurrent batches queue inside it
// (and are group-committed), so no two requests ever advance a series from the same snapshot (and
// the series versions in D1 would refuse it if they did). It keeps hot state in memory and persists
// it to D1 with every batch; a new instance reloads it from D1. Shard 0 is also the fleet's writer
// (enrolment, apps, deployments); its alarm notes devices gone silent every few seconds and applies
// retention hourly.
import { DurableObject } from 'cloudflare:workers'
import kernelModule from '../../kernels/build/edgewatch.wasm'
import { loadKernel } from '../../kernels/host/kernel.js'
import { bootstrap, misconfigured, PURGE_EVERY_MS, type Started } from '../bootstrap.js'
import { type Env as ConfigEnv, configFromEnv } from '../config.js'
import { parseTokens, safeEqual } from '../http/auth.js'
import { InFlight } from '../http/in-flight.js'
import { type D1Database, openD1Store, SqlStore } from '../store/sql-store.js'
import { DeviceTokens } from './device-tokens.js'
import { FrontDoor } from './front-door.js'
import { SHARD_HEADER, shardCount, shardName } from './shards.js'

export type Env = ConfigEnv & Bindings

interface Bindings {
  DB: D1Database
  EDGEWATCH: {
    idFromName(name: string): unknown
    get(id: unknown): { fetch(request: Request): Promise<Response> }
  }
}

export class Edgewatch extends DurableObject<Env> {
  private started: Promise<Started> | undefined
  /** This object's shard, as the front door names it on every request it sends. */
  private shard: number | undefined

  async fetch(request: Request): Promise<Response> {
    this.shard ??= Number(request.headers.get(SHARD_HEADER) ?? 0)
    let started: Started
    try {
      started = await this.start()
    } catch (e) {
      await drain(request)
      return misconfigured(e)
    }
    const response = await started.app.fetch(request)
    await drain(request)
    return response
  }

  /** Every sweep interval: devices gone silent are noted; retention runs hourly. Shard 0 only. */
  async alarm(): Promise<void> {
    // Only shard 0 ever sets an alarm (start() below; the single object of earlier versions was
    // shard 0 too), so an alarm is always the fleet's, even before a request has named the shard.
    const started = await this.start()
    await started.sweep()
    const purgedAt = (await this.ctx.storage.get<number>('purged-at')) ?? 0
    if (Date.now() - purgedAt >= PURGE_EVERY_MS) {
      await started.purge()
      await this.ctx.storage.put('purged-at', Date.now())
    }
    await this.ctx.storage.setAlarm(Date.now() + started.sweepEveryMs)
  }

  /** Starts once per object; a failed start is tried again on the next request. */
  private start(): Promise<Started> {
    this.started ??= (async () => {
      const env = this.env
      const started = bootstrap({
        env,
        tokens: {
          ingest: env.EDGEWATCH_INGEST_TOKEN,
          admin: env.EDGEWATCH_ADMIN_TOKEN,
          ingestSource: 'EDGEWATCH_INGEST_TOKEN (wrangler secret put, or .dev.vars)',
          adminSource: 'EDGEWATCH_ADMIN_TOKEN (wrangler secret put, or .dev.vars)',
        },
        store: await openD1Store(env.DB),
        kernel: await loadKernel(kernelModule),
        cachedSeries: 50_000,
        log: (line) => console.log(line),
      })
      // One sweeper and one purger for the fleet: shard 0's alarm.
      if (this.shard === 0 && (await this.ctx.storage.getAlarm()) === null)
        await this.ctx.storage.setAlarm(Date.now() + started.sweepEveryMs)
      return started
    })().catch((e: unknown) => {
      this.started = undefined
      throw e
    })
    return this.started
  }
}

/**
 * Reads what is left of a request body the app answered without reading (401, 413, 415, 503): a
 * Durable Object that answers while the body still streams in makes workerd fail the next request.
 */
async function drain(request: Request): Promise<void> {
  if (!request.body || request.bodyUsed) return
  const reader = request.body.getReader()
  try {
    while (!(await reader.read()).done) {}
  } catch {}
}

/**
 * The front door of an isolate, built once per environment (its settings are read once); an Error
 * when EDGEWATCH_SHARDS is unusable, undefined when the rest is (shard 0 then says why).
 */
let door: { env: Env; door: FrontDoor | Error | undefined } | undefined

function frontDoor(env: Env): FrontDoor | Error | undefined {
  if (door?.env === env) return door.door
  let shards: number
  try {
    shards = shardCount(env.EDGEWATCH_SHARDS)
  } catch (e) {
    door = { env, door: e as Error }
    return door.door
  }
  let built: FrontDoor | undefined
  try {
    const config = configFromEnv(env)
    const store = new SqlStore(env.DB)
    const tokens = [
      ...parseTokens(env.EDGEWATCH_INGEST_TOKEN, 'EDGEWATCH_INGEST_TOKEN'),
      ...parseTokens(env.EDGEWATCH_ADMIN_TOKEN, 'EDGEWATCH_ADMIN_TOKEN'),
    ]
    // A stub is an I/O object of the request that made it: made per request, never kept.
    const stub = (shard: number) => env.EDGEWATCH.get(env.EDGEWATCH.idFromName(shardName(shard)))
    built = new FrontDoor({
      shards,
      send: (shard, request) => stub(shard).fetch(request),
      devices: new DeviceTokens(store.fleet),
      isServiceToken: (token) => {
        if (token === undefined) return false
        let found = false
        for (const t of tokens) found = safeEqual(token, t) || found
        return found
      },
      bodies: new InFlight(config.maxInFlightBytes),
      bodyLimitBytes: config.bodyLimitBytes,
      influxDeviceTags: config.influxDeviceTags,
      otlpDeviceAttributes: config.otlpDeviceAttributes,
      idempotencyTtlMs: config.idempotencyTtlMs,
      findIdempotent: (key, notBefore) => store.findIdempotent(key, notBefore),
    })
  } catch {
    built = undefined // misconfigured: shard 0 says why, in the one error shape
  }
  door = { env, door: built }
  return built
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const routed = frontDoor(env)
    if (routed instanceof Error) return Promise.resolve(misconfigured(routed))
    if (routed) return routed.fetch(request)
    const fallback = new Request(request)
    fallback.headers.set(SHARD_HEADER, '0')
    return env.EDGEWATCH.get(env.EDGEWATCH.idFromName(shardName(0))).fetch(fallback)
  },
}
