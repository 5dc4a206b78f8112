// The policy every runtime entry shares, in one place: configuration and tokens checked (a runtime
// that cannot start says why, in the one error shape), the app built, retention applied on one
// schedule, the version. Each entry (node/, worker/, spin/) only finds its real dependencies (the
// store, the kernel, where variables and tokens come from) and hands them here.
import type { Kernel } from '../kernels/host/kernel.js'
import { type App, createApp } from './app.js'
import { configFromEnv, type Env, type ServiceConfig } from './config.js'
import { sweepEveryMs, sweepUnreachable } from './domain/fleet/sweeper.js'
import { parseTokens } from './http/auth.js'
import { errorBody } from './http/errors.js'
import { errorText } from './observability/error-text.js'
import { Metrics } from './observability/metrics.js'
import type { PurgeResult, Store } from './store/port.js'

/** The version every runtime reports (/healthz, /openapi.json); a test keeps it equal to package.json's. */
export const VERSION = '0.1.0'

/** How often retention is applied. */
export const PURGE_EVERY_MS = 60 * 60 * 1000

export interface RuntimeParts {
  /** The EDGEWATCH_* settings, from wherever the runtime keeps them (environment, Spin variables). */
  env: Env
  /** The analysis configuration file's text, where the runtime reads files (EDGEWATCH_CONFIG_FILE). */
  configText?: string | undefined
  /** Each role's tokens, comma separated, and where they came from (named in errors). */
  tokens: {
    ingest: string | undefined
    admin: string | undefined
    ingestSource: string
    adminSource: string
  }
  store: Store
  kernel: Kernel
  /** Series states to keep in memory between requests: for long-lived processes only. */
  cachedSeries?: number
  /** Where the one-line-per-request JSON log and warnings go. */
  log: (line: string) => void
  /** Whether the runtime can hold a response open (GET /v1/stream); true unless said otherwise. */
  streams?: boolean
  /** Aborted when the server stops: open streams end. */
  shutdown?: AbortSignal
}

export interface Started {
  app: App
  config: ServiceConfig
  /** Applies retention now; failures are logged, never thrown. */
  purge(): Promise<PurgeResult | undefined>
  /** Notes devices gone silent (where the runtime has timers), every `sweepEveryMs`; failures logged. */
  sweep(): Promise<number>
  sweepEveryMs: number
}

/** Builds the app from a runtime's parts. Throws (ConfigError, TokenError) when they are unusable. */
export function bootstrap(parts: RuntimeParts): Started {
  const config = configFromEnv(parts.env, parts.configText)
  const tokens = {
    ingest: parseTokens(parts.tokens.ingest, parts.tokens.ingestSource),
    admin: parseTokens(parts.tokens.admin, parts.tokens.adminSource),
  }
  const metrics = new Metrics()
  const app = createApp({
    metrics,
    store: parts.store,
    kernel: parts.kernel,
    analysis: config.analysis,
    tokens,
    bodyLimitBytes: config.bodyLimitBytes,
    maxInFlightBytes: config.maxInFlightBytes,
    maxQueuedRecords: config.maxQueuedRecords,
    idempotencyTtlMs: config.idempotencyTtlMs,
    cachedSeries: parts.cachedSeries,
    fleet: { heartbeatIntervalMs: config.heartbeatIntervalMs, heartbeatTimeoutMs: config.heartbeatTimeoutMs },
    corsOrigins: config.corsOrigins,
    influxDeviceTags: config.influxDeviceTags,
    otlpDeviceAttributes: config.otlpDeviceAttributes,
    maxAppBytes: config.maxAppBytes,
    stream: { supported: parts.streams ?? true, maxMs: config.streamMaxMs, shutdown: parts.shutdown },
    version: VERSION,
    log: parts.log,
  })
  const purge = async () => {
    const now = Date.now()
    try {
      return await parts.store.purge({
        before: now - config.retentionMs,
        idempotencyBefore: now - config.idempotencyTtlMs,
        now,
      })
    } catch (e) {
      parts.log(errorLine('purge failed', e))
      return undefined
    }
  }
  const sweep = async () => {
    try {
      return await sweepUnreachable(parts.store.fleet, metrics, Date.now(), config.heartbeatTimeoutMs)
    } catch (e) {
      parts.log(errorLine('sweep failed', e))
      return 0
    }
  }
  return { app, config, purge, sweep, sweepEveryMs: sweepEveryMs(config.heartbeatTimeoutMs) }
}

/** One JSON log line for an error, in the shape of the request log. */
export function errorLine(msg: string, e: unknown): string {
  return JSON.stringify({ time: new Date().toISOString(), level: 'error', msg, error: errorText(e) })
}

/** The answer of a runtime that could not start: 500, code `misconfigured`, the reason. */
export function misconfigured(e: unknown): Response {
  const message = e instanceof Error ? e.message : String(e)
  return Response.json(errorBody('misconfigured', message), { status: 500 })
}
