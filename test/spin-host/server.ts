// npm run start:spin: serves dist/spin/edgewatch.wasm over HTTP in plain Node, the way Spin would:
// jco transpiles the component (and the kernel component it imports), and every request gets a
// fresh instance. Same environment as `npm start`: PORT, HOST, EDGEWATCH_DATA_DIR (the database is
// spin.db there), EDGEWATCH_INGEST_TOKEN / EDGEWATCH_ADMIN_TOKEN (generated and kept like the Node
// entry when unset), EDGEWATCH_CONFIG (or EDGEWATCH_CONFIG_FILE), EDGEWATCH_BODY_LIMIT,
// EDGEWATCH_RETENTION.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { transpile } from '@bytecodealliance/jco'
import * as shimHttp from '@bytecodealliance/preview2-shim/http'
import { configFromEnv } from '../../functions/config.js'
import { resolveTokens } from '../../functions/node/tokens.js'
import { projectRoot } from '../../kernels/node.js'
import { makeHost } from './imports.js'

const root = projectRoot()
const appWasm = join(root, 'dist', 'spin', 'edgewatch.wasm')
const kernelWasm = join(root, 'dist', 'spin', 'kernel.wasm')

// The shim's Node build has HTTPServer (it serves any `wasi:http/incoming-handler`); its types do not.
const { HTTPServer } = shimHttp as unknown as {
  HTTPServer: new (handler: {
    handle(request: unknown, response: unknown): void
  }) => { listen(port: number, host: string): void; stop(): void }
}

async function transpileTo(wasm: string, dir: string, name: string, sync: boolean): Promise<string> {
  const { files } = await transpile(readFileSync(wasm), {
    name,
    instantiation: sync ? 'sync' : undefined,
    noTypescript: true,
    quiet: true,
  })
  for (const [file, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    writeFileSync(join(dir, file), bytes)
  }
  return join(dir, `${name}.js`)
}

type Instantiate = (
  getCoreModule: (path: string) => WebAssembly.Module,
  imports: Record<string, unknown>,
) => { incomingHandler: { handle(request: unknown, response: unknown): void } }

async function main() {
  const env = process.env
  for (const f of [appWasm, kernelWasm])
    if (!existsSync(f)) throw new Error(`${f} is missing: run npm run build:spin`)
  const configText = env.EDGEWATCH_CONFIG_FILE ? readFileSync(env.EDGEWATCH_CONFIG_FILE, 'utf8') : undefined
  const config = configFromEnv(env, configText)
  mkdirSync(config.dataDir, { recursive: true })
  const tokens = resolveTokens(env, config.dataDir)

  const t0 = performance.now()
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-spin-host-'))
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  // The generated modules are ES modules (the kernel's uses top-level await).
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  const [appJs, kernelJs] = await Promise.all([
    transpileTo(appWasm, join(dir, 'app'), 'edgewatch', true),
    transpileTo(kernelWasm, join(dir, 'kernel'), 'kernel', false),
  ])
  const { instantiate } = (await import(pathToFileURL(appJs).href)) as { instantiate: Instantiate }
  const { detect } = (await import(pathToFileURL(kernelJs).href)) as { detect: { run: () => unknown } }
  const modules = new Map<string, WebAssembly.Module>()
  const getCoreModule = (path: string) => {
    let m = modules.get(path)
    if (!m) {
      m = new WebAssembly.Module(readFileSync(join(dir, 'app', path)))
      modules.set(path, m)
    }
    return m
  }
  const host = makeHost({
    dbPath: join(config.dataDir, 'spin.db'),
    detect,
    variables: {
      ingest_token: tokens.ingest,
      admin_token: tokens.admin,
      config: configText ?? env.EDGEWATCH_CONFIG ?? '{}',
      retention: env.EDGEWATCH_RETENTION ?? '7d',
      body_limit: env.EDGEWATCH_BODY_LIMIT ?? '8MiB',
      idempotency_ttl: env.EDGEWATCH_IDEMPOTENCY_TTL ?? '24h',
      heartbeat_interval: env.EDGEWATCH_HEARTBEAT_INTERVAL ?? '30s',
      heartbeat_timeout: env.EDGEWATCH_HEARTBEAT_TIMEOUT ?? '90s',
      influx_device_tags: env.EDGEWATCH_INFLUX_DEVICE_TAGS ?? 'device,host',
      otlp_device_attributes: env.EDGEWATCH_OTLP_DEVICE_ATTRIBUTES ?? 'device.id,service.instance.id',
    },
  })
  instantiate(getCoreModule, host.imports) // compiles every core module once
  const ready = performance.now() - t0

  const server = new HTTPServer({
    // One instance per request, as in Spin: the JS engine serves a single request per instance.
    handle(request: unknown, response: unknown) {
      instantiate(getCoreModule, host.imports).incomingHandler.handle(request, response)
    },
  })
  server.listen(config.port, config.host)
  const hostName = config.host.includes(':') ? `[${config.host}]` : config.host
  process.stderr.write(
    `edgewatch (spin component, kernel component) listening on http://${hostName}:${config.port} ` +
      `(ready in ${ready.toFixed(0)} ms; tokens: ingest from ${tokens.ingestSource}, admin from ${tokens.adminSource})\n`,
  )
  for (const [role, token] of Object.entries(tokens.generated))
    process.stderr.write(`new ${role} token (shown this once): ${token}\n`)
  const stop = () => {
    server.stop()
    host.close()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
  process.exit(1)
})
