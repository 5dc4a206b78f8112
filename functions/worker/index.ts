// The Workers entry: every request goes to one Durable Object, which runs the same Hono app over
// D1. The object is the single writer of detector state: concurrent batches queue inside it (and
// are group-committed), so no two requests ever advance a series from the same snapshot (and the
// series versions in D1 would refuse it if they did). It keeps hot state in memory and persists it
// to D1 with every batch; a new instance reloads it from D1. The object's alarm notes devices gone
// silent every few seconds and applies retention hourly.
import { DurableObject } from 'cloudflare:workers'
import kernelModule from '../../kernels/build/edgewatch.wasm'
import { loadKernel } from '../../kernels/host/kernel.js'
import { bootstrap, misconfigured, PURGE_EVERY_MS, type Started } from '../bootstrap.js'
import type { Env as ConfigEnv } from '../config.js'
import { type D1Database, openD1Store } from '../store/sql-store.js'

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

  async fetch(request: Request): Promise<Response> {
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

  /** Every sweep interval: devices gone silent are noted; retention runs hourly. */
  async alarm(): Promise<void> {
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
      if ((await this.ctx.storage.getAlarm()) === null)
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

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    return env.EDGEWATCH.get(env.EDGEWATCH.idFromName('fleet')).fetch(request)
  },
}
