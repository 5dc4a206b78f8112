// The app factory: the whole HTTP surface, from dependencies only. It imports no runtime;
// each entry (node/, later worker and spin) wires real dependencies in.
import { OpenAPIHono } from '@hono/zod-openapi'
import { cors } from 'hono/cors'
import type { Kernel } from '../kernels/host/kernel.js'
import type { AppContext } from './app-context.js'
import { Analyser } from './domain/analyse.js'
import type { AnalysisConfig } from './domain/analysis-config.js'
import { Deployments } from './domain/apps/deployments.js'
import { DeviceApps } from './domain/apps/device-apps.js'
import { DEFAULT_MAX_APP_BYTES, Releases } from './domain/apps/releases.js'
import { Feed } from './domain/feed/feed.js'
import { DEFAULT_STREAM_OPTIONS, type StreamOptions } from './domain/feed/options.js'
import { Credentials, DEVICE_TOKEN_PREFIX } from './domain/fleet/credentials.js'
import { Enrolments } from './domain/fleet/enrolment.js'
import { Heartbeats } from './domain/fleet/heartbeats.js'
import { DEFAULT_FLEET_OPTIONS, type FleetOptions } from './domain/fleet/options.js'
import { Ingestor } from './domain/ingest.js'
import { SeriesCache } from './domain/series-cache.js'
import { bearerAuth, checkTokens, type Tokens } from './http/auth.js'
import type { AppEnv } from './http/env.js'
import { ApiError, errorBody, sendError } from './http/errors.js'
import { InFlight } from './http/in-flight.js'
import { requestLog } from './http/request-log.js'
import { instrumentStore } from './observability/instrument-store.js'
import { Metrics } from './observability/metrics.js'
import { influxWriteRoutes } from './protocols/influx/write-routes.js'
import { otlpExportRoutes } from './protocols/otlp/export-routes.js'
import { appRoutes } from './routes/apps.js'
import { deploymentRoutes } from './routes/deployments.js'
import { deviceApiRoutes } from './routes/device.js'
import { deviceRoutes } from './routes/devices.js'
import { exportRoutes } from './routes/export.js'
import { fleetRoutes } from './routes/fleet.js'
import { ingestRoutes } from './routes/ingest.js'
import { opsRoutes } from './routes/ops.js'
import { queryRoutes } from './routes/queries.js'
import { relayRoutes } from './routes/relay.js'
import { streamRoutes } from './routes/stream.js'
import { InvalidCursorError, type Store } from './store/port.js'

export interface AppDeps {
  store: Store
  kernel: Kernel
  analysis: AnalysisConfig
  /** Several per role allow rotation; each at least MIN_TOKEN_LENGTH characters (checked here). */
  tokens: Tokens
  /** Largest accepted request body, after decompression (bytes). */
  bodyLimitBytes: number
  /** Bounds on work in flight (defaults: 64 MiB of bodies, 100,000 queued records). */
  maxInFlightBytes?: number
  maxQueuedRecords?: number
  /** How long an Idempotency-Key's answer is kept (default 24 h). */
  idempotencyTtlMs?: number
  /** Series states the ingest path keeps in memory (long-lived processes); 0, the default, for none. */
  cachedSeries?: number
  /** Heartbeat interval and timeout, credential lifetimes (defaults: 30 s, 90 s, 15 min). */
  fleet?: Partial<FleetOptions>
  version?: string
  now?: () => number
  /** Where the one-line-per-request JSON log goes. */
  log?: (line: string) => void
  metrics?: Metrics
  /** The largest app module accepted (default 256 KiB). */
  maxAppBytes?: number
  /** Origins allowed to call /v1 from a browser (the replay tool served from elsewhere); none by default. */
  corsOrigins?: string[]
  /** How GET /v1/stream holds streams open, and whether the runtime can (defaults: see DEFAULT_STREAM_OPTIONS). */
  stream?: Partial<StreamOptions>
  /** Influx line protocol: the tags that name a point's device, first present wins (default: device, host). */
  influxDeviceTags?: readonly string[]
  /** OTLP: the attributes that name a record's device, first present wins (default: device.id, service.instance.id). */
  otlpDeviceAttributes?: readonly string[]
}

export function createApp(deps: AppDeps) {
  checkTokens(deps.tokens)
  const metrics = deps.metrics ?? new Metrics()
  const now = deps.now ?? Date.now
  const store = instrumentStore(deps.store, metrics)
  const log = deps.log ?? (() => {})
  const warn = (msg: string, fields: Record<string, unknown>) =>
    log(JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg, ...fields }))
  const fleetOptions = { ...DEFAULT_FLEET_OPTIONS, ...deps.fleet }
  const credentials = new Credentials(store.fleet, metrics, now, fleetOptions)
  const liveness = () => ({ now: now(), timeoutMs: fleetOptions.heartbeatTimeoutMs })
  const releases = new Releases(store.apps, now, deps.maxAppBytes ?? DEFAULT_MAX_APP_BYTES)
  const deployments = new Deployments(store.apps, releases, now, liveness)
  const deviceApps = new DeviceApps(store.apps, releases, deployments)
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return
      const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
      const message = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')
      return c.json(errorBody('invalid_request', message, { issues }), 400)
    },
  })
  const ctx: AppContext = {
    store,
    ingestor: new Ingestor(store, new Analyser(deps.kernel, deps.analysis), metrics, now, {
      maxQueuedRecords: deps.maxQueuedRecords ?? 100_000,
      idempotencyTtlMs: deps.idempotencyTtlMs ?? 24 * 3_600_000,
      warn,
      cache: deps.cachedSeries ? new SeriesCache(deps.cachedSeries) : undefined,
    }),
    bodies: new InFlight(deps.maxInFlightBytes ?? 64 << 20),
    metrics,
    bodyLimitBytes: deps.bodyLimitBytes,
    tokens: deps.tokens,
    version: deps.version ?? '0.0.0',
    now,
    fleet: {
      enrolments: new Enrolments(store.fleet, metrics, now, fleetOptions),
      credentials,
      heartbeats: new Heartbeats(store.fleet, metrics, now, fleetOptions, deviceApps),
      options: fleetOptions,
      store: store.fleet,
    },
    apps: { releases, deployments },
    liveness,
    feed: new Feed(store.feed, liveness),
    stream: { ...DEFAULT_STREAM_OPTIONS, ...deps.stream },
    dispatch: async (request) => app.fetch(request, { relayed: true }),
  }
  app.use('*', requestLog(metrics, log))
  if (deps.corsOrigins?.length) app.use('/v1/*', corsFor(deps.corsOrigins))
  app.use(
    '/v1/*',
    bearerAuth(deps.tokens, (token) => credentials.authenticate(token), DEVICE_TOKEN_PREFIX),
  )
  ingestRoutes(app, ctx)
  influxWriteRoutes(app, ctx, { deviceTags: deps.influxDeviceTags })
  otlpExportRoutes(app, ctx, { deviceAttributes: deps.otlpDeviceAttributes })
  deviceApiRoutes(app, ctx)
  relayRoutes(app, ctx)
  fleetRoutes(app, ctx)
  deviceRoutes(app, ctx)
  appRoutes(app, ctx)
  deploymentRoutes(app, ctx)
  queryRoutes(app, ctx)
  exportRoutes(app, ctx)
  streamRoutes(app, ctx)
  opsRoutes(app, ctx)
  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404))
  app.onError((err, c) => {
    if (err instanceof ApiError) return sendError(c, err)
    if (err instanceof InvalidCursorError) return c.json(errorBody('invalid_cursor', err.message), 400)
    log(
      JSON.stringify({
        time: new Date().toISOString(),
        level: 'error',
        path: c.req.path,
        error: String(err?.stack ?? err),
      }),
    )
    return c.json(errorBody('internal_error', 'the server failed to handle this request'), 500)
  })
  return app
}

export type App = ReturnType<typeof createApp>

/** CORS for the API: preflights answered before auth, so a browser on an allowed origin can send its token. */
function corsFor(origins: string[]) {
  return cors({
    origin: origins.includes('*') ? '*' : origins,
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'Content-Encoding', 'Idempotency-Key'],
    maxAge: 600,
  })
}
