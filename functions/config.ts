// Service configuration from environment variables, the same names on every runtime.
import { ZodError } from 'zod'
import { type AnalysisConfig, resolveAnalysisConfig } from './domain/analysis-config.js'

export interface ServiceConfig {
  port: number
  host: string
  dataDir: string
  /** Records (and what came with them) are deleted this long after they were ingested. */
  retentionMs: number
  bodyLimitBytes: number
  /** Bytes of request bodies read and parsed at once; past it, 503 overloaded. */
  maxInFlightBytes: number
  /** Records parsed and waiting for their commit; past it, 503 overloaded. */
  maxQueuedRecords: number
  /** How long an Idempotency-Key's answer is kept. */
  idempotencyTtlMs: number
  /** How often devices are asked to send a heartbeat, and how long one may stay silent before it is unreachable. */
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
  /** SQLite synchronous mode on Node: full makes every acknowledged batch survive a power cut. */
  sync: 'full' | 'normal'
  /** Node: commit ingest on a writer thread (on), or on the event loop (off, to compare). */
  commitThread: boolean
  analysis: AnalysisConfig
  /** The largest app module an upload may carry. */
  maxAppBytes: number
  /** EDGEWATCH_CORS_ORIGINS: origins allowed to call /v1 from a browser, comma separated, or *. */
  corsOrigins: string[]
  /** EDGEWATCH_STREAM_MAX: how long one GET /v1/stream stays open before it ends (clients reconnect). */
  streamMaxMs: number
  /** EDGEWATCH_INFLUX_DEVICE_TAGS: the line protocol tags that name a point's device, first present wins. */
  influxDeviceTags: string[]
  /** EDGEWATCH_OTLP_DEVICE_ATTRIBUTES: the OTLP attributes that name a record's device, first present wins. */
  otlpDeviceAttributes: string[]
  /** EDGEWATCH_MQTT_URL (or `serve --mqtt`): the broker to take records from (Node only); null: none. */
  mqtt: MqttConfig | null
}

export interface MqttConfig {
  /** mqtt://user:pass@host:port (also mqtts://, ws://, wss://); credentials from the URL. */
  url: string
  /** EDGEWATCH_MQTT_TOPIC: the subscription; its `+` segment is the device id. */
  topic: string
  /** EDGEWATCH_MQTT_CLIENT_ID: fixed, so the broker keeps the session (and unacknowledged messages) across restarts. */
  clientId: string
}

export type Env = Record<string, string | undefined>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const UNITS_BYTES: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1 << 20,
  mb: 1 << 20,
  mib: 1 << 20,
}

/** "7d", "12h", "90m", "30s", "500ms" or plain milliseconds. */
export function parseDuration(text: string, name: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text)
  if (!m)
    throw new ConfigError(
      `${name} must be a duration such as 7d, 12h, 30m or milliseconds; got ${JSON.stringify(text)}`,
    )
  const ms = Number(m[1]) * UNITS_MS[(m[2] ?? 'ms').toLowerCase()]!
  if (ms <= 0) throw new ConfigError(`${name} must be positive`)
  return ms
}

/** "8MiB", "512k" or plain bytes. */
export function parseBytes(text: string, name: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)?\s*$/i.exec(text)
  const unit = UNITS_BYTES[(m?.[2] ?? 'b').toLowerCase()]
  if (!m || !unit)
    throw new ConfigError(`${name} must be a size such as 8MiB, 512k or bytes; got ${JSON.stringify(text)}`)
  const bytes = Math.floor(Number(m[1]) * unit)
  if (bytes < 1) throw new ConfigError(`${name} must be at least 1 byte`)
  return bytes
}

function heartbeats(env: Env): { heartbeatIntervalMs: number; heartbeatTimeoutMs: number } {
  const interval = parseDuration(env.EDGEWATCH_HEARTBEAT_INTERVAL ?? '30s', 'EDGEWATCH_HEARTBEAT_INTERVAL')
  const timeout = parseDuration(env.EDGEWATCH_HEARTBEAT_TIMEOUT ?? '90s', 'EDGEWATCH_HEARTBEAT_TIMEOUT')
  if (timeout <= interval)
    throw new ConfigError('EDGEWATCH_HEARTBEAT_TIMEOUT must be longer than EDGEWATCH_HEARTBEAT_INTERVAL')
  return { heartbeatIntervalMs: interval, heartbeatTimeoutMs: timeout }
}

function parseCount(text: string, name: string): number {
  const n = Number(text)
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new ConfigError(`${name} must be a positive whole number; got ${JSON.stringify(text)}`)
  return n
}

function parsePort(text: string): number {
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`PORT must be 0-65535; got ${JSON.stringify(text)}`)
  return port
}

/**
 * Reads the configuration. The analysis settings (rules, detector parameters, per-device overrides)
 * come as JSON in EDGEWATCH_CONFIG, or from `configText` (the Node entry reads EDGEWATCH_CONFIG_FILE).
 */
export function configFromEnv(env: Env, configText?: string): ServiceConfig {
  const sync = (env.EDGEWATCH_SYNC ?? 'full').toLowerCase()
  if (sync !== 'full' && sync !== 'normal') throw new ConfigError('EDGEWATCH_SYNC must be full or normal')
  const commitThread = (env.EDGEWATCH_COMMIT_THREAD ?? 'on').toLowerCase()
  if (commitThread !== 'on' && commitThread !== 'off')
    throw new ConfigError('EDGEWATCH_COMMIT_THREAD must be on or off')
  const text = configText ?? env.EDGEWATCH_CONFIG
  let analysis: AnalysisConfig
  try {
    analysis = resolveAnalysisConfig(text ? JSON.parse(text) : {})
  } catch (e) {
    const detail =
      e instanceof ZodError
        ? e.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
        : (e as Error).message
    throw new ConfigError(`invalid analysis configuration: ${detail}`)
  }
  const bodyLimitBytes = parseBytes(env.EDGEWATCH_BODY_LIMIT ?? '8MiB', 'EDGEWATCH_BODY_LIMIT')
  return {
    port: parsePort(env.PORT ?? '3000'),
    host: env.HOST ?? '127.0.0.1',
    dataDir: env.EDGEWATCH_DATA_DIR ?? './data',
    retentionMs: parseDuration(env.EDGEWATCH_RETENTION ?? '7d', 'EDGEWATCH_RETENTION'),
    bodyLimitBytes,
    maxInFlightBytes: env.EDGEWATCH_MAX_INFLIGHT_BYTES
      ? parseBytes(env.EDGEWATCH_MAX_INFLIGHT_BYTES, 'EDGEWATCH_MAX_INFLIGHT_BYTES')
      : Math.max(64 << 20, bodyLimitBytes),
    maxQueuedRecords: parseCount(
      env.EDGEWATCH_MAX_QUEUED_RECORDS ?? '100000',
      'EDGEWATCH_MAX_QUEUED_RECORDS',
    ),
    idempotencyTtlMs: parseDuration(env.EDGEWATCH_IDEMPOTENCY_TTL ?? '24h', 'EDGEWATCH_IDEMPOTENCY_TTL'),
    ...heartbeats(env),
    sync,
    commitThread: commitThread === 'on',
    analysis,
    corsOrigins: parseOrigins(env.EDGEWATCH_CORS_ORIGINS ?? ''),
    maxAppBytes: parseBytes(env.EDGEWATCH_MAX_APP_BYTES ?? '256KiB', 'EDGEWATCH_MAX_APP_BYTES'),
    streamMaxMs: parseDuration(env.EDGEWATCH_STREAM_MAX ?? '5m', 'EDGEWATCH_STREAM_MAX'),
    influxDeviceTags: parseNameList(env, 'EDGEWATCH_INFLUX_DEVICE_TAGS', 'device,host', 'tag'),
    otlpDeviceAttributes: parseNameList(
      env,
      'EDGEWATCH_OTLP_DEVICE_ATTRIBUTES',
      'device.id,service.instance.id',
      'attribute',
    ),
    mqtt: parseMqtt(env),
  }
}

/** EDGEWATCH_MQTT_URL, _TOPIC (edgewatch/+/telemetry) and _CLIENT_ID (edgewatch); null without a URL. */
export function parseMqtt(env: Env): MqttConfig | null {
  const text = env.EDGEWATCH_MQTT_URL?.trim()
  if (!text) return null
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {}
  if (!url || !['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(url.protocol) || !url.hostname)
    throw new ConfigError(
      `EDGEWATCH_MQTT_URL must be a broker URL such as mqtt://user:pass@host:1883; got ${JSON.stringify(url ? `${url.protocol}//${url.host}` : text.slice(0, 100))}`,
    )
  const topic = (env.EDGEWATCH_MQTT_TOPIC ?? 'edgewatch/+/telemetry').trim()
  const levels = topic.split('/')
  if (
    !topic ||
    levels.some(
      (l, i) => (l.includes('#') && (l !== '#' || i !== levels.length - 1)) || (l.includes('+') && l !== '+'),
    )
  )
    throw new ConfigError(
      `EDGEWATCH_MQTT_TOPIC must be an MQTT topic filter such as edgewatch/+/telemetry; got ${JSON.stringify(topic)}`,
    )
  const clientId = (env.EDGEWATCH_MQTT_CLIENT_ID ?? 'edgewatch').trim()
  if (!/^[\x21-\x7e]{1,128}$/.test(clientId))
    throw new ConfigError('EDGEWATCH_MQTT_CLIENT_ID must be 1-128 visible ASCII characters')
  return { url: text, topic, clientId }
}

/** A comma-separated list of names (Influx tag keys, OTLP attribute names), at least one; `fallback` when unset. */
function parseNameList(env: Env, variable: string, fallback: string, noun: string): string[] {
  const list = (env[variable] ?? fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (list.length === 0) throw new ConfigError(`${variable} must name at least one ${noun}, e.g. ${fallback}`)
  return list
}

/** "https://a.example, http://127.0.0.1:5173" or "*": each must be a bare origin. */
export function parseOrigins(text: string): string[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const origin of list) {
    if (origin === '*') continue
    let url: URL | undefined
    try {
      url = new URL(origin)
    } catch {}
    if (!url || url.origin !== origin)
      throw new ConfigError(
        `EDGEWATCH_CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://host:port`,
      )
  }
  return list
}
