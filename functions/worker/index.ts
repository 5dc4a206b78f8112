// The Workers entry: every request goes to one Durable Object, which runs the same Hono app over
// D1. The object is the single writer of detector state: concurrent batches queue inside it (and
// are group-committed), so no two requests ever advance a series from the same snapshot. It keeps
// hot state in memory and persists it to D1 with every batch; a new instance reloads it from D1.
import { DurableObject } from 'cloudflare:workers'
import kernelModule from '../../kernels/build/edgewatch.wasm'
import { loadKernel } from '../../kernels/host/kernel.js'
import { type App, createApp } from '../app.js'
import { type Env as ConfigEnv, configFromEnv } from '../config.js'
import { type D1Database, openD1Store } from '../store/d1.js'
import { withStateCache } from '../store/state-cache.js'

export type Env = ConfigEnv & Bindings

interface Bindings {
  DB: D1Database
  EDGEWATCH: {
    idFromName(name: string): unknown
    get(id: unknown): { fetch(request: Request): Promise<Response> }
  }
}

const PURGE_EVERY_MS = 60 * 60 * 1000

export class Edgewatch extends DurableObject<Env> {
  private app: Promise<{ app: App; purge: () => Promise<unknown> }> | undefined

  async fetch(request: Request): Promise<Response> {
    this.app ??= this.start().catch((e: unknown) => {
      this.app = undefined
      throw e
    })
    try {
      const response = await (await this.app).app.fetch(request)
      await drain(request)
      return response
    } catch (e) {
      const message = (e as Error).message
      const body = { error: { code: 'misconfigured', message, details: null } }
      return Response.json(body, { status: 500 })
    }
  }

  async alarm(): Promise<void> {
    this.app ??= this.start()
    await (await this.app).purge()
    await this.ctx.storage.setAlarm(Date.now() + PURGE_EVERY_MS)
  }

  private async start() {
    const env = this.env
    if (!env.EDGEWATCH_INGEST_TOKEN || !env.EDGEWATCH_ADMIN_TOKEN) {
      throw new Error(
        'set EDGEWATCH_INGEST_TOKEN and EDGEWATCH_ADMIN_TOKEN (wrangler secret put, or .dev.vars)',
      )
    }
    const config = configFromEnv(env as ConfigEnv)
    const store = withStateCache(await openD1Store(env.DB))
    const app = createApp({
      store,
      kernel: await loadKernel(kernelModule),
      analysis: config.analysis,
      tokens: { ingest: env.EDGEWATCH_INGEST_TOKEN, admin: env.EDGEWATCH_ADMIN_TOKEN },
      bodyLimitBytes: config.bodyLimitBytes,
      corsOrigins: config.corsOrigins,
      version: '0.1.0',
      log: (line) => console.log(line),
    })
    if ((await this.ctx.storage.getAlarm()) === null)
      await this.ctx.storage.setAlarm(Date.now() + PURGE_EVERY_MS)
    return { app, purge: () => store.purge(Date.now() - config.retentionMs) }
  }
}

/**
 * Reads what is left of a request body the app answered without reading (401, 413, 415): a Durable
 * Object that answers while the body still streams in makes workerd fail the next request (503).
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
