// The edgewatch command line: `serve` runs the server, `detect` runs the analysis over a file,
// `device` and `simulate` run device agents, `fleet` administers the fleet of a running server.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadNodeKernel, projectRoot } from '../../kernels/node.js'
import { ConfigError, configFromEnv } from '../config.js'
import { TokenError } from '../http/auth.js'

// Each command imports what only it needs when it runs (the bundle evaluates a module on its first
// import): `serve` never evaluates the CSV, progress-bar and device-agent code, nor `detect`, `fleet`
// or `--help` the server's (`edgewatch --help`: 104 ms instead of 171 ms).

const HELP = `edgewatch: watch IoT fleets; ingest device logs and telemetry, find anomalies with Wasm kernels.

Usage:
  edgewatch serve [--mqtt URL]
      Runs the HTTP server. Environment: PORT (3000), HOST (127.0.0.1), EDGEWATCH_DATA_DIR (./data),
      EDGEWATCH_INGEST_TOKEN, EDGEWATCH_ADMIN_TOKEN (comma-separated lists, 16+ characters each;
      a role left unset gets a token generated once and kept in the data dir), EDGEWATCH_RETENTION (7d),
      EDGEWATCH_BODY_LIMIT (8MiB), EDGEWATCH_SYNC (full|normal), EDGEWATCH_IDEMPOTENCY_TTL (24h),
      EDGEWATCH_MAX_INFLIGHT_BYTES (64MiB), EDGEWATCH_MAX_QUEUED_RECORDS (100000),
      EDGEWATCH_CONFIG (JSON) or EDGEWATCH_CONFIG_FILE (path): rules and detector parameters.
      --mqtt URL or EDGEWATCH_MQTT_URL (mqtt://user:pass@host:1883): also take records from an MQTT
      broker, QoS 1, acknowledged once committed; EDGEWATCH_MQTT_TOPIC (edgewatch/+/telemetry, the +
      is the device id), EDGEWATCH_MQTT_CLIENT_ID (edgewatch). Anomalies go to edgewatch/<id>/anomalies.

  edgewatch detect --input FILE [--format csv|ndjson|json] [--time-column NAME]
                   [--device-column NAME] [--device ID] [--output FILE] [--output-format csv|ndjson|parquet]
                   [--baseline ROWS]
      Scores every row of FILE (or - for stdin; .gz is gunzipped) exactly as the server would and
      writes it back with two added columns: score (0..1) and anomalies (kinds, comma separated).
      Every numeric column is a metric. Times: ISO-8601, YYYY-MM-DD hh:mm:ss (UTC), epoch s or ms.
      A CSV device id is kept as written (007 stays 007). Unreadable rows are written back unscored:
      in CSV output with the reason in a last column, error; in NDJSON as {"_error": reason, ...}.
      CSV output's columns are the fields of the first 8192 rows: a field that first appears later
      is not written (use NDJSON output for such files).
      A server export (/v1/export) is checked against its last line: detect fails when the server
      reported an error there or the footer's record count differs from the records read.
      --baseline ROWS: the first ROWS rows of each device are its normal state, learnt by the state
      detector (default: the configured detectors.state.baseline, 1000 rows).

  edgewatch device --server URL --enrol TOKEN [--name NAME] [--state-dir DIR] [--sensor pump|env]
                   [--rate HZ] [--batch-ms MS] [--transport http|mqtt] [--mqtt URL]
                   [--mqtt-username USER] [--mqtt-password PASS]
      Runs one device agent with a simulated sensor: it enrols once (its key and outbox are kept in
      --state-dir, ./device-NAME by default), then sends readings and heartbeats until stopped.
      --transport mqtt (--mqtt URL or EDGEWATCH_MQTT_URL) publishes the readings to the broker, on
      edgewatch/<deviceId>/telemetry with QoS 1; enrolment and heartbeats stay on --server.

  edgewatch simulate --server URL --enrol TOKEN --devices N [--rate HZ] [--duration 60s]
                     [--faults SPEC] [--labels-out FILE] [--gateway K] [--sensor pump|env|mixed]
                     [--batch-ms MS] [--drain 30s] [--wave N] [--seed N] [--admin-token TOKEN]
      Runs N device agents in this process (behind gateways of K devices each with --gateway), then
      stops them and drains their outboxes; prints one JSON line (devices, enrolled, recordsSent,
      recordsAcked, recordsLost, heartbeatP99Ms, e2eP95Ms, faultsInjected; with an admin token, or
      EDGEWATCH_ADMIN_TOKEN, also recordsStored and faultsDetected). SPEC: e.g.
      "sim-00003:cavitation@120s+5m, *:spike@30s, 10%:drift(flow)@10m+2m" (devices are sim-00000…).

  edgewatch fleet [--server URL] [--token ADMIN] [--json] COMMAND
      tokens create [--label k=v]... [--max-uses N] [--expires-in 24h] | tokens list | tokens revoke ID
      devices list [--status S] [--label k=v] [--limit N] | devices show ID | devices revoke ID
      devices label ID [--name NAME] [--label k=v]...
      apps push FILE --version V [limits] | apps list | apps show ID | apps delete ID
      deploy APP --to label=k=v|device=ID ... [--batches 1,10%,100%] [--bake 30s] [--watch]
      deployments [ID] [--watch] | deployments pause|resume|abort|rollback ID
      Administers the fleet of a running server: enrolment tokens, devices, Wasm apps and their
      deployments (edgewatch fleet --help).
      Server: --server, EDGEWATCH_SERVER or http://127.0.0.1:3000. Admin token: --token,
      EDGEWATCH_ADMIN_TOKEN, or the one edgewatch serve generated in <EDGEWATCH_DATA_DIR>/tokens.json.
      Tables on stdout, or the API's JSON with --json; exit 1 when the server refuses, 2 on usage errors.

  edgewatch --help | --version
`

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP)
    return 0
  }
  if (command === '--version' || command === '-v') {
    const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as {
      version: string
    }
    process.stdout.write(pkg.version + '\n')
    return 0
  }
  try {
    if (command === 'serve') return await serveCommand(rest)
    if (command === 'detect') return await detectCommand(rest)
    if (command === 'fleet') return await (await import('./fleet.js')).fleet(rest)
    if (command === 'device') return await (await import('./device.js')).deviceCommand(rest)
    if (command === 'simulate') return await (await import('./device.js')).simulateCommand(rest)
  } catch (e) {
    const usage =
      e instanceof ConfigError ||
      e instanceof TokenError ||
      (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    process.stderr.write(`edgewatch ${command}: ${(e as Error).message}\n`)
    return usage ? 2 : 1
  }
  process.stderr.write(`edgewatch: unknown command ${JSON.stringify(command)}\n\n${HELP}`)
  return 2
}

async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { mqtt: { type: 'string' } }, strict: true })
  const { startNodeServer } = await import('../node/server.js')
  const env = values.mqtt === undefined ? process.env : { ...process.env, EDGEWATCH_MQTT_URL: values.mqtt }
  const server = await startNodeServer(env)
  const { tokens } = server
  // A token is printed once, when it is generated; later starts only say where it is kept.
  const generated = Object.entries(tokens.generated).map(([role, token]) => `  ${role}: ${token}`)
  const lines = [
    `edgewatch listening on ${server.url} (data in ${server.config.dataDir})`,
    ...(generated.length ? [`new tokens, kept in ${tokens.file} (shown this once):`, ...generated] : []),
    `tokens: ingest from ${tokens.ingestSource}, admin from ${tokens.adminSource}`,
    `try: curl -H "Authorization: Bearer <admin token>" ${server.url}/v1/anomalies`,
    `replay tool: ${server.url}/app/`,
    ...(server.config.mqtt
      ? [
          `mqtt: ${server.config.mqtt.topic} from ${redact(server.config.mqtt.url)} as ${server.config.mqtt.clientId}`,
        ]
      : []),
  ]
  process.stderr.write(lines.join('\n') + '\n')
  await new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await server.close()
  return 0
}

/** A broker URL without its password. */
function redact(url: string): string {
  const u = new URL(url)
  if (u.password) u.password = '***'
  return u.toString()
}

async function detectCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      input: { type: 'string', short: 'i' },
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
      'output-format': { type: 'string' },
      'time-column': { type: 'string' },
      'device-column': { type: 'string' },
      device: { type: 'string' },
      'no-progress': { type: 'boolean' },
      baseline: { type: 'string' },
    },
    strict: true,
  })
  if (!values.input) throw new ConfigError('--input FILE is required (use - for stdin)')
  const baseline = values.baseline === undefined ? undefined : Number(values.baseline)
  if (baseline !== undefined && !(Number.isInteger(baseline) && baseline >= 2 && baseline <= 1e9))
    throw new ConfigError(`--baseline must be a whole number of rows from 2 to 1e9, got ${values.baseline}`)
  const oneOf = <T extends string>(
    v: string | undefined,
    allowed: readonly T[],
    flag: string,
  ): T | undefined => {
    if (v === undefined) return undefined
    if (!allowed.includes(v as T)) throw new ConfigError(`${flag} must be one of ${allowed.join(', ')}`)
    return v as T
  }
  const config = configFromEnv(
    process.env,
    process.env.EDGEWATCH_CONFIG_FILE ? readFileSync(process.env.EDGEWATCH_CONFIG_FILE, 'utf8') : undefined,
  )
  const { detect } = await import('./detect.js')
  const kernel = await loadNodeKernel()
  const t0 = performance.now()
  const summary = await detect(kernel, config.analysis, {
    input: values.input,
    format: oneOf(values.format, ['csv', 'ndjson', 'json'] as const, '--format'),
    output: values.output,
    outputFormat: oneOf(values['output-format'], ['csv', 'ndjson', 'parquet'] as const, '--output-format'),
    timeColumn: values['time-column'],
    deviceColumn: values['device-column'],
    device: values.device,
    progress: !values['no-progress'],
    baseline,
  })
  const seconds = (performance.now() - t0) / 1000
  const lines = [
    `detect: ${summary.rows} rows in ${seconds.toFixed(1)} s, ${summary.anomalousRows} with anomalies, ${summary.invalidCount} invalid`,
    ...summary.invalid.map((i) => `  line ${i.line}: ${i.reason}`),
  ]
  if (summary.invalidCount > summary.invalid.length)
    lines.push(`  … and ${summary.invalidCount - summary.invalid.length} more`)
  if (summary.export === 'unterminated')
    lines.push(
      '  note: export lines (score, anomalies) with no footer: if they came from a server that writes footers, the export was cut short',
    )
  process.stderr.write(lines.join('\n') + '\n')
  return 0
}
