// Runtime comparison: the same workloads against each runtime, one after another in one run:
// cold start, 1,000-record ingest batches, single-record requests, a CPU-bound request, error paths
// and 1 → 100 connections. Writes bench/results/runtimes.json and .md; prints JSON last.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { kernelPath, projectRoot } from '../kernels/node.js'
import { RUNTIMES, type RunningRuntime, type Runtime } from '../test/runtimes.js'
import { runtimesChart } from './chart.js'
import { median, report } from './stats.js'

const SECONDS = Number(process.env.BENCH_DURATION ?? 10)
const ENV = {
  EDGEWATCH_INGEST_TOKEN: 'bench-ingest-token-0001',
  EDGEWATCH_ADMIN_TOKEN: 'bench-admin-token-00001',
}
const auth = { authorization: 'Bearer bench-ingest-token-0001' }
const ndjson = { ...auth, 'content-type': 'application/x-ndjson' }
const only = process.env.BENCH_RUNTIMES?.split(',')

let clock = Date.UTC(2026, 10, 1)
function batch(records: number, metrics: number, devices: number): string {
  const lines: string[] = []
  for (let i = 0; i < records; i++) {
    if (i % devices === 0) clock += 1000
    const row: Record<string, unknown> = { deviceId: `dev-${i % devices}`, ts: clock, level: 'info' }
    for (let m = 0; m < metrics; m++)
      row[`m${m}`] = Math.round((20 + Math.sin(clock / 9e4 + m) * 3 + ((i * 7) % 5) / 10) * 100) / 100
    lines.push(JSON.stringify(row))
  }
  return lines.join('\n')
}

interface Load {
  req_per_s: number
  records_per_s: number
  p50_ms: number
  p99_ms: number
  non_2xx: number
  errors: number
  timeouts: number
}

async function load(
  url: string,
  requests: autocannon.Request[],
  connections: number,
  recordsPerRequest: number,
  seconds = SECONDS,
): Promise<Load> {
  const r = await autocannon({ url, connections, duration: seconds, requests })
  const ok = r['2xx']
  return {
    req_per_s: Math.round(r.requests.total / seconds),
    records_per_s: Math.round((ok * recordsPerRequest) / seconds),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    non_2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  }
}

/** Peak RSS (MB) of the runtime: its process, or every process of its group. */
function peakRssMb(rt: RunningRuntime): number {
  const pids = rt.group
    ? readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[2] === String(rt.pid)
          } catch {
            return false
          }
        })
    : [String(rt.pid)]
  let kb = 0
  for (const pid of pids) {
    try {
      kb += Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
    } catch {}
  }
  return Math.round(kb / 1024)
}

async function coldStartMs(runtime: Runtime): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    const rt = await runtime.start(ENV)
    times.push(performance.now() - t0)
    await rt.stop()
  }
  return Math.round(median(times))
}

const post = (body: string, headers: Record<string, string> = ndjson) => ({
  method: 'POST' as const,
  path: '/v1/ingest',
  headers,
  body,
})

/**
 * Each workload runs on a freshly started runtime, so that requests a slow host still queues from
 * one workload cannot spill into the next. Peak RSS is the largest over the workloads.
 */
async function measure(runtime: Runtime) {
  console.log(`— ${runtime.name}`)
  let peak = 0
  const fresh = async (workload: (url: string) => Promise<Load>): Promise<Load> => {
    const rt = await runtime.start(ENV)
    try {
      return await workload(rt.url)
    } finally {
      peak = Math.max(peak, peakRssMb(rt))
      await rt.stop()
    }
  }
  const half = SECONDS / 2
  const results = {
    cold_start_ms: await coldStartMs(runtime),
    ingest_1000: await fresh((u) =>
      load(
        u,
        Array.from({ length: 20 }, () => post(batch(1000, 2, 100))),
        10,
        1000,
      ),
    ),
    single_record: await fresh((u) =>
      load(
        u,
        Array.from({ length: 50 }, () => post(batch(1, 2, 1))),
        10,
        1,
      ),
    ),
    cpu_bound: await fresh((u) =>
      load(
        u,
        Array.from({ length: 5 }, () => post(batch(500, 32, 10))),
        4,
        500,
      ),
    ),
    errors: {
      400: await fresh((u) =>
        load(u, [post('{broken', { ...auth, 'content-type': 'application/json' })], 10, 0, half),
      ),
      401: await fresh((u) => load(u, [{ method: 'GET', path: '/v1/anomalies' }], 10, 0, half)),
      404: await fresh((u) => load(u, [{ method: 'GET', path: '/nope' }], 10, 0, half)),
      413: await fresh((u) => load(u, [post('x'.repeat(9 << 20))], 4, 0, half)),
    },
    connections: {} as Record<string, Load>,
    peak_rss_mb: 0,
  }
  for (const c of [1, 10, 100])
    results.connections[c] = await fresh((u) => load(u, [post(batch(1, 2, 1))], c, 1, half))
  results.peak_rss_mb = peak
  console.log(JSON.stringify(results))
  return results
}

function sizeOf(path: string): number {
  return statSync(path).size
}

function dirBytes(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .reduce((n, e) => n + statSync(join(e.parentPath, e.name)).size, 0)
}

/** What `wrangler deploy` would upload (bundled script, without the .wasm module). */
function workerBundleBytes(): number {
  const out = mkdtempSync(join(tmpdir(), 'edgewatch-bundle-'))
  const wrangler = join(projectRoot(), 'node_modules', 'wrangler', 'bin', 'wrangler.js')
  const r = spawnSync(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', out], {
    cwd: projectRoot(),
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${r.stderr}`)
  const bytes = dirBytes(out)
  rmSync(out, { recursive: true, force: true })
  return bytes
}

const runtimes = RUNTIMES.filter((r) => !only || only.includes(r.name))
const measured: Record<string, Awaited<ReturnType<typeof measure>>> = {}
for (const runtime of runtimes) measured[runtime.name] = await measure(runtime)
const artifacts = {
  kernel_wasm_bytes: sizeOf(kernelPath()),
  worker_bundle_bytes: workerBundleBytes(),
  spin_component_bytes: sizeOf(join(projectRoot(), 'dist', 'spin', 'edgewatch.wasm')),
  spin_kernel_component_bytes: sizeOf(join(projectRoot(), 'dist', 'spin', 'kernel.wasm')),
  node_dist_bytes: dirBytes(join(projectRoot(), 'dist', 'functions')),
}
const result = { benchmark: 'runtimes', duration_s: SECONDS, artifacts, runtimes: measured }
const dir = join(projectRoot(), 'bench', 'results')
writeFileSync(join(dir, 'runtimes.json'), JSON.stringify(result, null, 2) + '\n')
writeFileSync(join(dir, 'runtimes.md'), table(measured))
writeFileSync(join(dir, 'runtimes.svg'), runtimesChart(measured))
report(result)

function table(m: typeof measured): string {
  const names = Object.keys(m)
  const row = (label: string, f: (r: (typeof m)[string]) => string | number) =>
    `| ${label} | ${names.map((n) => f(m[n]!)).join(' | ')} |`
  return (
    [
      `| | ${names.join(' | ')} |`,
      `|---|${names.map(() => '---').join('|')}|`,
      row('cold start to first 2xx (median of 5)', (r) => `${r.cold_start_ms} ms`),
      row('ingest, 1,000-record batches: records/s', (r) => r.ingest_1000.records_per_s),
      row(
        'ingest, 1,000-record batches: p50 / p99',
        (r) => `${r.ingest_1000.p50_ms} / ${r.ingest_1000.p99_ms} ms`,
      ),
      row('single-record requests: req/s', (r) => r.single_record.req_per_s),
      row(
        'single-record requests: p50 / p99',
        (r) => `${r.single_record.p50_ms} / ${r.single_record.p99_ms} ms`,
      ),
      row('CPU-bound (500 records x 32 metrics): records/s', (r) => r.cpu_bound.records_per_s),
      row(
        '400 / 401 / 404 / 413: req/s',
        (r) =>
          `${r.errors[400].req_per_s} / ${r.errors[401].req_per_s} / ${r.errors[404].req_per_s} / ${r.errors[413].req_per_s}`,
      ),
      row(
        '1 / 10 / 100 connections: req/s',
        (r) =>
          `${r.connections[1]!.req_per_s} / ${r.connections[10]!.req_per_s} / ${r.connections[100]!.req_per_s}`,
      ),
      row('100 connections: p99', (r) => `${r.connections[100]!.p99_ms} ms`),
      row('peak RSS', (r) => `${r.peak_rss_mb} MB`),
    ].join('\n') + '\n'
  )
}
