// `npm run dev:edge`: the Worker under `wrangler dev` (local workerd, offline), configured from the
// same environment as `npm start`: PORT, HOST, EDGEWATCH_DATA_DIR, the tokens (generated and kept
// in the data directory when unset), EDGEWATCH_CONFIG, EDGEWATCH_RETENTION, EDGEWATCH_BODY_LIMIT and
// the other EDGEWATCH_* bounds, EDGEWATCH_INFLUX_DEVICE_TAGS, EDGEWATCH_OTLP_DEVICE_ATTRIBUTES, and EDGEWATCH_SHARDS (wrangler.toml's when
// unset).
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { buildKernels, kernelPath, projectRoot } from '../../kernels/node.js'
import { configFromEnv } from '../config.js'
import { resolveTokens } from '../node/tokens.js'

const env = process.env
const config = configFromEnv(env) // fails early, with the same messages as npm start
const dataDir = resolve(config.dataDir)
mkdirSync(dataDir, { recursive: true })
const tokens = resolveTokens(env, dataDir)
if (!existsSync(kernelPath())) buildKernels()

const vars: Record<string, string | undefined> = {
  EDGEWATCH_CONFIG: env.EDGEWATCH_CONFIG,
  EDGEWATCH_RETENTION: env.EDGEWATCH_RETENTION,
  EDGEWATCH_BODY_LIMIT: env.EDGEWATCH_BODY_LIMIT,
  EDGEWATCH_IDEMPOTENCY_TTL: env.EDGEWATCH_IDEMPOTENCY_TTL,
  EDGEWATCH_MAX_INFLIGHT_BYTES: env.EDGEWATCH_MAX_INFLIGHT_BYTES,
  EDGEWATCH_MAX_QUEUED_RECORDS: env.EDGEWATCH_MAX_QUEUED_RECORDS,
  EDGEWATCH_HEARTBEAT_INTERVAL: env.EDGEWATCH_HEARTBEAT_INTERVAL,
  EDGEWATCH_HEARTBEAT_TIMEOUT: env.EDGEWATCH_HEARTBEAT_TIMEOUT,
  EDGEWATCH_STREAM_MAX: env.EDGEWATCH_STREAM_MAX,
  EDGEWATCH_SHARDS: env.EDGEWATCH_SHARDS,
  EDGEWATCH_INFLUX_DEVICE_TAGS: env.EDGEWATCH_INFLUX_DEVICE_TAGS,
  EDGEWATCH_OTLP_DEVICE_ATTRIBUTES: env.EDGEWATCH_OTLP_DEVICE_ATTRIBUTES,
}
// The tokens go in an env file (wrangler shows such values as hidden), never on the command line
// or in its output. Single quotes keep them literal; a token holding one goes as a --var instead.
const secrets: Record<string, string> = {
  EDGEWATCH_INGEST_TOKEN: tokens.ingest,
  EDGEWATCH_ADMIN_TOKEN: tokens.admin,
}
const secretsFile = join(dataDir, 'workerd.env')
writeFileSync(
  secretsFile,
  Object.entries(secrets)
    .filter(([, v]) => !v.includes("'"))
    .map(([k, v]) => `${k}='${v}'\n`)
    .join(''),
  { mode: 0o600 },
)
for (const [k, v] of Object.entries(secrets)) if (v.includes("'")) vars[k] = v
const wrangler = createRequire(join(projectRoot(), 'package.json')).resolve('wrangler/bin/wrangler.js')
const args = [
  wrangler,
  'dev',
  '--local',
  '--ip',
  config.host,
  '--port',
  String(config.port),
  '--persist-to',
  join(dataDir, 'workerd'),
  '--show-interactive-dev-session=false',
  '--env-file',
  secretsFile,
  ...Object.entries(vars).flatMap(([k, v]) => (v === undefined ? [] : ['--var', `${k}:${v}`])),
]
for (const [role, token] of Object.entries(tokens.generated))
  process.stderr.write(`new ${role} token, kept in ${tokens.file} (shown this once): ${token}\n`)
process.stderr.write(`tokens: ingest from ${tokens.ingestSource}, admin from ${tokens.adminSource}\n`)
const child = spawn(process.execPath, args, {
  cwd: projectRoot(),
  stdio: 'inherit',
  env: {
    ...env,
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    WRANGLER_LOG_PATH: join(dataDir, 'wrangler-logs'),
  },
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal))
child.on('exit', (code) => process.exit(code ?? 1))
