// Cold start of `edgewatch serve`: from spawning the real `node bin/edgewatch.js serve` to its first
// 2xx on GET /healthz, N times with a fresh data directory (tokens, database and migrations made on the
// way) and N times with an existing one; and `node -e 0`, the floor no server start can go below.
// Build first (npm run build, or npx tsx functions/cli/bundle.ts). Prints medians and p90, and how
// long the server's main thread waited for a CPU (on a shared machine a start is only as fast as the
// CPU it gets: a median wait above a few ms means the figure is the machine's, not edgewatch's); then
// one JSON line. BENCH_RUNS (15) sets N.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { projectRoot } from '../kernels/node.js'
import { percentile, round } from './abuse/tally.js'
import { median, report } from './stats.js'

const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const POLL_MS = 2
const TIMEOUT_MS = 30_000
const BIN = join(projectRoot(), 'bin', 'edgewatch.js')
const ENV = {
  HOST: '127.0.0.1',
  EDGEWATCH_INGEST_TOKEN: 'bench-ingest-token-0001',
  EDGEWATCH_ADMIN_TOKEN: 'bench-admin-token-00001',
}

/** A port free right now: the server is told it, so the first request needs no line from its output. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

/** Resolves with the status of one GET, or undefined when nothing answers (yet). */
function get(port: number, path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode))
    })
    req.on('error', () => resolve(undefined))
    req.end()
  })
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode)
    else child.once('exit', (code) => resolve(code))
  })
}

/**
 * How long (ms) a process's main thread has waited for a CPU while it was runnable (Linux; undefined
 * elsewhere): a start that waited is slowed by other work on the machine, not by its own.
 */
function runqueueWaitMs(pid: number | undefined): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6
  } catch {
    return undefined
  }
}

interface Start {
  /** Spawn to first 2xx. */
  ms: number
  /** The server's main thread's wait for a CPU until then. */
  waitMs: number | undefined
}

/** Spawn to the first 2xx on /healthz; the server is stopped before it returns. */
async function startOnce(dataDir: string): Promise<Start> {
  const port = await freePort()
  let err = ''
  const t0 = performance.now()
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { ...process.env, ...ENV, PORT: String(port), EDGEWATCH_DATA_DIR: dataDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  child.stderr!.on('data', (d: Buffer) => {
    err += d
  })
  let dead = false
  const exit = exited(child).then((code) => {
    dead = true
    return code
  })
  try {
    for (;;) {
      const status = await get(port, '/healthz')
      if (status !== undefined && status >= 200 && status < 300)
        return { ms: performance.now() - t0, waitMs: runqueueWaitMs(child.pid) }
      if (status !== undefined) throw new Error(`/healthz answered ${status}:\n${err}`)
      if (dead) throw new Error(`the server exited with ${child.exitCode}:\n${err}`)
      if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`no 2xx in ${TIMEOUT_MS} ms:\n${err}`)
      await sleep(POLL_MS)
    }
  } finally {
    child.kill('SIGTERM')
    await exit
  }
}

/** Milliseconds from spawn to exit of `node -e 0`. */
async function nodeFloorOnce(): Promise<number> {
  const t0 = performance.now()
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' })
  await exited(child)
  return performance.now() - t0
}

function summary(starts: Start[] | number[]) {
  const times = starts.map((s) => (typeof s === 'number' ? s : s.ms))
  const waits = starts.flatMap((s) => (typeof s === 'number' || s.waitMs === undefined ? [] : [s.waitMs]))
  return {
    median_ms: round(median(times)),
    p90_ms: round(percentile(times, 90)!),
    min_ms: round(Math.min(...times)),
    max_ms: round(Math.max(...times)),
    ...(waits.length ? { median_runqueue_wait_ms: round(median(waits)) } : {}),
  }
}

const base = mkdtempSync(join(tmpdir(), 'edgewatch-coldstart-'))
const load = loadavg().map((l) => Math.round(l * 100) / 100)
try {
  const floor: number[] = []
  for (let i = 0; i < RUNS; i++) floor.push(await nodeFloorOnce())

  // One start not counted: the bundle and the native addon into the page cache.
  await startOnce(join(base, 'warm'))
  const fresh: Start[] = []
  for (let i = 0; i < RUNS; i++) fresh.push(await startOnce(join(base, `fresh-${i}`)))
  const existingDir = join(base, 'existing')
  await startOnce(existingDir)
  const existing: Start[] = []
  for (let i = 0; i < RUNS; i++) existing.push(await startOnce(existingDir))

  const r = {
    bench: 'cold-start',
    runs: RUNS,
    node: process.version,
    load_avg_1_5_15: load,
    node_floor: summary(floor),
    fresh_data_dir: summary(fresh),
    existing_data_dir: summary(existing),
    target_median_ms: 150,
    met: median(fresh.map((s) => s.ms)) <= 150 && median(existing.map((s) => s.ms)) <= 150,
  }
  console.log(`load average at the start: ${load.join(', ')} (${process.version}, ${RUNS} runs each)`)
  const line = (name: string, s: ReturnType<typeof summary>) =>
    console.log(
      `${name.padEnd(34)} median ${s.median_ms} ms, p90 ${s.p90_ms} ms (${s.min_ms}–${s.max_ms})` +
        ('median_runqueue_wait_ms' in s
          ? `; the server waited ${s.median_runqueue_wait_ms} ms for a CPU`
          : ''),
    )
  line('node -e 0 (spawn to exit)', r.node_floor)
  line('serve, fresh data dir (to 2xx)', r.fresh_data_dir)
  line('serve, existing data dir (to 2xx)', r.existing_data_dir)
  console.log(`target: median ≤ 150 ms: ${r.met ? 'met' : 'NOT MET'}`)
  report(r)
} finally {
  rmSync(base, { recursive: true, force: true })
}
