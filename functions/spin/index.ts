// The Spin entry: the shared bootstrap wired to Spin's SQLite (spin-sqlite.ts), the kernel
// component imported as `edgewatch:kernel/detect` (component-kernel.ts), and Spin variables for
// tokens and configuration. Spin makes a fresh instance for every request, so this runs once per
// request: migrations are checked (applied ones are skipped; instances starting at once are safe),
// and retention is applied at most hourly, the time of the last purge kept in the key-value store.
// Concurrent instances share the database: series versions make a commit that raced another
// instance reload and analyse again (see domain/ingest.ts).
import { run, runState } from 'edgewatch:kernel/detect'
import { Store as KeyValue } from 'fermyon:spin/key-value@2.0.0'
import { Connection } from 'fermyon:spin/sqlite@2.0.0'
import { get } from 'fermyon:spin/variables@2.0.0'
import { bootstrap, errorLine, misconfigured, PURGE_EVERY_MS, type Started } from '../bootstrap.js'
import { componentKernel } from './component-kernel.js'
import { openSpinSqliteStore } from './spin-sqlite.js'

const PURGED_AT = 'edgewatch:purged-at'

/** A Spin variable, or undefined when the manifest leaves it unset. */
function variable(name: string): string | undefined {
  try {
    return get(name) || undefined
  } catch {
    return undefined
  }
}

async function start(): Promise<Started> {
  return bootstrap({
    env: {
      EDGEWATCH_CONFIG: variable('config'),
      EDGEWATCH_RETENTION: variable('retention'),
      EDGEWATCH_BODY_LIMIT: variable('body_limit'),
      EDGEWATCH_IDEMPOTENCY_TTL: variable('idempotency_ttl'),
      EDGEWATCH_HEARTBEAT_INTERVAL: variable('heartbeat_interval'),
      EDGEWATCH_HEARTBEAT_TIMEOUT: variable('heartbeat_timeout'),
      EDGEWATCH_INFLUX_DEVICE_TAGS: variable('influx_device_tags'),
      EDGEWATCH_OTLP_DEVICE_ATTRIBUTES: variable('otlp_device_attributes'),
    },
    tokens: {
      ingest: variable('ingest_token'),
      admin: variable('admin_token'),
      ingestSource: 'the Spin variable ingest_token',
      adminSource: 'the Spin variable admin_token',
    },
    store: await openSpinSqliteStore(Connection.open('default')),
    kernel: componentKernel(run, runState),
    // Tried under the jco host: the component streams, but the host serves one request at a time, so
    // an open stream held up every other request. GET /v1/stream answers 501; clients poll instead.
    streams: false,
    log: (line) => console.log(line),
  })
}

/** Retention at most hourly across instances: the last run's time is kept in the key-value store. */
async function purgeIfDue(started: Started): Promise<void> {
  const kv = KeyValue.open('default')
  const last = kv.get(PURGED_AT)
  const now = Date.now()
  if (last && now - Number(new TextDecoder().decode(last)) < PURGE_EVERY_MS) return
  kv.set(PURGED_AT, new TextEncoder().encode(String(now)))
  await started.purge()
}

async function handle(request: Request): Promise<Response> {
  let started: Started
  try {
    started = await start()
  } catch (e) {
    return misconfigured(e)
  }
  const response = await started.app.fetch(request)
  try {
    await purgeIfDue(started)
  } catch (e) {
    console.log(errorLine('purge failed', e))
  }
  return response
}

// Not hono/service-worker's fire(app): its default re-fetches every 404 over the network.
addEventListener('fetch', (event) => {
  const e = event as unknown as { request: Request; respondWith(r: Promise<Response>): void }
  e.respondWith(handle(e.request))
})
