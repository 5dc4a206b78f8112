// The Node entry: finds SQLite, the Wasm kernel, the tokens and the environment, hands them to the
// shared bootstrap, applies retention hourly, notes devices gone silent, and serves the app (and the
// web app) over HTTP; with EDGEWATCH_MQTT_URL, it also takes records from an MQTT broker (mqtt.ts).
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { loadNodeKernel } from '../../kernels/node.js'
import { bootstrap, PURGE_EVERY_MS } from '../bootstrap.js'
import { configFromEnv, type Env, type ServiceConfig } from '../config.js'
import { useSha256 } from '../domain/hash.js'
import { openSqliteStore } from '../store/sqlite.js'
import type { MqttInput } from './mqtt.js'
import { type ResolvedTokens, resolveTokens } from './tokens.js'
import { withWebApp } from './web-app.js'

/** How long after the start retention is first applied (then every PURGE_EVERY_MS). */
export const FIRST_PURGE_AFTER_MS = 1000

export interface RunningServer {
  url: string
  config: ServiceConfig
  tokens: ResolvedTokens
  close(): Promise<void>
}

export async function startNodeServer(env: Env = process.env): Promise<RunningServer> {
  useSha256((bytes) => createHash('sha256').update(bytes).digest('hex'))
  const configFile = env.EDGEWATCH_CONFIG_FILE
  const configText = configFile ? readFileSync(configFile, 'utf8') : undefined
  // Read once before touching the disk, so a bad setting fails before a data directory is made.
  const { dataDir, sync, commitThread } = configFromEnv(env, configText)
  mkdirSync(dataDir, { recursive: true })
  const tokens = resolveTokens(env, dataDir)
  const store = openSqliteStore(join(dataDir, 'edgewatch.db'), {
    synchronous: sync,
    writerThread: commitThread,
  })
  // Open streams (GET /v1/stream) end when the server stops, so closing waits for no client.
  const shutdown = new AbortController()
  let started: ReturnType<typeof bootstrap>
  try {
    started = bootstrap({
      env,
      configText,
      tokens,
      store,
      kernel: await loadNodeKernel(),
      cachedSeries: 50_000,
      shutdown: shutdown.signal,
      log: (line) => process.stdout.write(line + '\n'),
    })
  } catch (e) {
    await store.close()
    throw e
  }
  const { app, config, purge, sweep } = started
  // Retention is first applied a moment after the server answers, not before: a start (and its
  // first answer) does not wait for deletes, which on a large database take a while.
  const timers = [
    setTimeout(purge, FIRST_PURGE_AFTER_MS),
    setInterval(purge, PURGE_EVERY_MS),
    setInterval(sweep, started.sweepEveryMs),
  ]
  for (const t of timers) t.unref()

  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: withWebApp(app).fetch, port: config.port, hostname: config.host }, () =>
      resolve(s),
    )
    s.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  let mqttInput: MqttInput | undefined
  if (config.mqtt) {
    const { startMqttInput } = await import('./mqtt.js')
    mqttInput = startMqttInput({
      config: config.mqtt,
      fetch: app.fetch,
      token: tokens.ingest.split(',')[0]!.trim(),
      bodyLimitBytes: config.bodyLimitBytes,
      log: (line) => process.stdout.write(line + '\n'),
    })
  }
  return {
    url: `http://${host}:${port}`,
    config,
    tokens,
    close: async () => {
      for (const t of timers) clearInterval(t)
      // Messages being ingested are answered and acknowledged before the store closes.
      await mqttInput?.stop()
      shutdown.abort()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await store.close()
    },
  }
}
