// The Node entry: wires SQLite, the Wasm kernel and the clock into the app and serves it.
import { mkdirSync, readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { loadNodeKernel } from '../../kernels/node.js'
import { createApp } from '../app.js'
import { configFromEnv, type Env, type ServiceConfig } from '../config.js'
import { openSqliteStore } from '../store/sqlite.js'
import { withStateCache } from '../store/state-cache.js'
import { type ResolvedTokens, resolveTokens } from './tokens.js'
import { withWebApp } from './web-app.js'

const PURGE_EVERY_MS = 60 * 60 * 1000

export interface RunningServer {
  url: string
  config: ServiceConfig
  tokens: ResolvedTokens
  close(): Promise<void>
}

export async function startNodeServer(env: Env = process.env): Promise<RunningServer> {
  const configFile = env.EDGEWATCH_CONFIG_FILE
  const config = configFromEnv(env, configFile ? readFileSync(configFile, 'utf8') : undefined)
  mkdirSync(config.dataDir, { recursive: true })
  const tokens = resolveTokens(env, config.dataDir)
  const store = withStateCache(
    openSqliteStore(join(config.dataDir, 'edgewatch.db'), { synchronous: config.sync }),
  )
  const kernel = await loadNodeKernel()
  const app = createApp({
    store,
    kernel,
    analysis: config.analysis,
    tokens,
    bodyLimitBytes: config.bodyLimitBytes,
    corsOrigins: config.corsOrigins,
    version: env.npm_package_version ?? '0.1.0',
    log: (line) => process.stdout.write(line + '\n'),
  })

  const purge = () =>
    store.purge(Date.now() - config.retentionMs).catch((e: Error) => {
      process.stderr.write(
        JSON.stringify({
          time: new Date().toISOString(),
          level: 'error',
          msg: 'purge failed',
          error: e.message,
        }) + '\n',
      )
    })
  await purge()
  const timer = setInterval(purge, PURGE_EVERY_MS)
  timer.unref()

  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: withWebApp(app).fetch, port: config.port, hostname: config.host }, () =>
      resolve(s),
    )
    s.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  return {
    url: `http://${host}:${port}`,
    config,
    tokens,
    close: async () => {
      clearInterval(timer)
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await store.close()
    },
  }
}
