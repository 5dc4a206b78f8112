// The Spin entry: the same Hono app, wired to Spin's SQLite (spin-sqlite.ts), the kernel component
// imported as `edgewatch:kernel/detect` (component-kernel.ts), and Spin variables for tokens and
// configuration. Spin makes a fresh instance for every request, so this runs once per request:
// migrations are checked (applied ones are skipped), and retention is applied at most hourly, the
// time of the last purge kept in the key-value store.
import { run } from 'edgewatch:kernel/detect'
import { Store as KeyValue } from 'fermyon:spin/key-value@2.0.0'
import { Connection } from 'fermyon:spin/sqlite@2.0.0'
import { get } from 'fermyon:spin/variables@2.0.0'
import { type App, createApp } from '../app.js'
import { configFromEnv } from '../config.js'
import { componentKernel } from './component-kernel.js'
import { openSpinSqliteStore } from './spin-sqlite.js'

const PURGE_EVERY_MS = 60 * 60 * 1000
const PURGED_AT = 'edgewatch:purged-at'

/** A Spin variable, or undefined when the manifest leaves it unset. */
function variable(name: string): string | undefined {
  try {
    return get(name) || undefined
  } catch {
    return undefined
  }
}

async function start(): Promise<{ app: App; purge: () => Promise<unknown> }> {
  const ingest = variable('ingest_token')
  const admin = variable('admin_token')
  if (!ingest || !admin) throw new Error('set the Spin variables ingest_token and admin_token')
  const config = configFromEnv({
    EDGEWATCH_CONFIG: variable('config'),
    EDGEWATCH_RETENTION: variable('retention'),
    EDGEWATCH_BODY_LIMIT: variable('body_limit'),
  })
  const store = await openSpinSqliteStore(Connection.open('default'))
  const app = createApp({
    store,
    kernel: componentKernel(run),
    analysis: config.analysis,
    tokens: { ingest, admin },
    bodyLimitBytes: config.bodyLimitBytes,
    corsOrigins: config.corsOrigins,
    version: '0.1.0',
    log: (line) => console.log(line),
  })
  const purge = async () => {
    const kv = KeyValue.open('default')
    const last = kv.get(PURGED_AT)
    const now = Date.now()
    if (last && now - Number(new TextDecoder().decode(last)) < PURGE_EVERY_MS) return
    kv.set(PURGED_AT, new TextEncoder().encode(String(now)))
    await store.purge(now - config.retentionMs)
  }
  return { app, purge }
}

async function handle(request: Request): Promise<Response> {
  let started: Awaited<ReturnType<typeof start>>
  try {
    started = await start()
  } catch (e) {
    const body = { error: { code: 'misconfigured', message: (e as Error).message, details: null } }
    return Response.json(body, { status: 500 })
  }
  const response = await started.app.fetch(request)
  try {
    await started.purge()
  } catch (e) {
    console.log(
      JSON.stringify({
        time: new Date().toISOString(),
        level: 'error',
        msg: 'purge failed',
        error: String(e),
      }),
    )
  }
  return response
}

// Not hono/service-worker's fire(app): its default re-fetches every 404 over the network.
addEventListener('fetch', (event) => {
  const e = event as unknown as { request: Request; respondWith(r: Promise<Response>): void }
  e.respondWith(handle(e.request))
})
