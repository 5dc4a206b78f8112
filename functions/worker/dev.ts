// `npm run dev:edge`: the Worker under `wrangler dev` (local workerd, offline), configured from the
// same environment as `npm start`: PORT, HOST, EDGEWATCH_DATA_DIR, the tokens (generated and kept
// in the data directory when unset), EDGEWATCH_CONFIG, EDGEWATCH_RETENTION, EDGEWATCH_BODY_LIMIT.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
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
  EDGEWATCH_INGEST_TOKEN: tokens.ingest,
  EDGEWATCH_ADMIN_TOKEN: tokens.admin,
  EDGEWATCH_CONFIG: env.EDGEWATCH_CONFIG,
  EDGEWATCH_RETENTION: env.EDGEWATCH_RETENTION,
  EDGEWATCH_BODY_LIMIT: env.EDGEWATCH_BODY_LIMIT,
}
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
  ...Object.entries(vars).flatMap(([k, v]) => (v === undefined ? [] : ['--var', `${k}:${v}`])),
]
process.stderr.write(
  tokens.source === 'environment'
    ? 'tokens: from EDGEWATCH_INGEST_TOKEN and EDGEWATCH_ADMIN_TOKEN\n'
    : `tokens (${tokens.source}, kept in ${tokens.file}):\n  ingest: ${tokens.ingest}\n  admin:  ${tokens.admin}\n`,
)
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
