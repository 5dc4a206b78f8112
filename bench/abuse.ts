// Abuse benchmark: does the server stay bounded, answering and durable while hostile bodies flood it?
// The real `edgewatch serve` runs in its own process on 127.0.0.1. Several connections cycle through
// hostile bodies (junk lines, deep nesting, huge strings, bad gzip, gzip bombs, wrong content types,
// invalid UTF-8, unclosed objects) with the valid ingest token, while a steady stream of well-formed
// 100-record batches measures latency. Afterwards every acknowledged good record must be stored, once.
// Stops by itself: every request has a timeout, the whole run a hard deadline, and the server is
// always stopped. Exits non-zero when the server died or hung (a request unanswered in the timeout),
// lost or doubled records, failed a well-formed request, or answered 5xx other than 503. Helpers are
// in bench/abuse/.
import { mkdtempSync, rmSync } from 'node:fs'
import { Agent } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type ServerProcess, startServer } from '../test/server-process.js'
import { hostileRequests } from './abuse/bodies.js'
import { errorCode, is5xx, retryAfterMs, send } from './abuse/http.js'
import { GoodLedger } from './abuse/ledger.js'
import { childPids, memoryMb, serverErrors, stopServer, watchMemory } from './abuse/server.js'
import { countStored, type Stored } from './abuse/stored.js'
import { bump, type Counts, HostileTally, percentile, round } from './abuse/tally.js'
import { report } from './stats.js'

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const DURATION_S = env('BENCH_DURATION', 20)
const HOSTILE_CONNECTIONS = env('BENCH_HOSTILE_CONNECTIONS', 4)
const GOOD_CONNECTIONS = env('BENCH_GOOD_CONNECTIONS', 2)
const REQUEST_TIMEOUT_MS = env('BENCH_REQUEST_TIMEOUT', 60) * 1000
/** From the server's start: the flood, a request timeout to drain it, two for counting, and slack. */
const DEADLINE_MS = env('BENCH_DEADLINE', DURATION_S + (3 * REQUEST_TIMEOUT_MS) / 1000 + 30) * 1000
const BODY_LIMIT = 8 << 20
const INGEST_TOKEN = 'abuse-ingest-token-0123456789'
const ADMIN_TOKEN = 'abuse-admin-token-0123456789'
/** Two devices per good connection, 50 records each: 100-record batches, one record per device every 20 ms. */
const ledger = new GoodLedger(GOOD_CONNECTIONS, 50, 20, Date.now() - 3_600_000)

const notes: string[] = []
const hostile = new HostileTally()
const good = { requests: 0, ok: 0, refused503: 0, attemptMs: [] as number[], failures: {} as Counts }
const records = { acknowledged: 0, unacknowledged: 0, acceptedMismatch: 0 }
let server5xx = 0
let floodWallS: number | null = null
let stored: Stored | undefined
/** How the server ended on its own (a crash), before it was asked to stop. */
let serverExit: { code: number | null; signal: string | null; at_s: number } | undefined
let serverStop = 'not stopped'
let memory: ReturnType<typeof watchMemory> | undefined
/** The junk body alone, with one well-formed batch sent during it (see solo()). */
let soloFigures: Record<string, unknown> | null = null

function result(): Record<string, unknown> {
  const ms = (p: number) => round(percentile(good.attemptMs, p))
  const m = memory?.figures()
  const audit = stored?.audit
  return {
    benchmark: 'abuse',
    junk_alone: soloFigures,
    duration_s: DURATION_S,
    flood_wall_s: floodWallS,
    hostile_connections: HOSTILE_CONNECTIONS,
    good_connections: GOOD_CONNECTIONS,
    good_requests: good.requests,
    good_success_rate: good.requests ? round(good.ok / good.requests, 4) : null,
    good_p50_ms: ms(50),
    good_p99_ms: ms(99),
    good_max_ms: ms(100),
    good_refused_503: good.refused503,
    good_failures: good.failures,
    hostile_requests: hostile.requests,
    hostile_by_status: hostile.byStatus,
    hostile_by_kind: hostile.byKind.counts,
    hostile_p50_ms_by_kind: hostile.byKind.times(50),
    hostile_by_variant: hostile.byVariant.counts,
    hostile_max_ms_by_variant: hostile.byVariant.times(100),
    server_peak_rss_mb: m ? Math.round(m.peakMb) : null,
    server_start_rss_mb: m?.startMb ? Math.round(m.startMb) : null,
    server_max_sampled_rss_mb: m ? Math.round(m.maxSampledMb) : null,
    acknowledged_records: records.acknowledged,
    unacknowledged_records: records.unacknowledged,
    stored_records: stored?.good ?? null,
    stored_records_export: stored?.goodExport ?? null,
    records_lost: stored ? records.acknowledged - stored.good : null,
    acknowledged_records_missing: audit?.acknowledgedMissing ?? null,
    unacknowledged_records_stored: audit?.unacknowledgedStored ?? null,
    duplicate_records: audit?.duplicates ?? null,
    partial_batches: audit?.partialBatches ?? null,
    hostile_records_stored: stored?.hostile ?? null,
    server_5xx: server5xx,
    server_errors_logged: server ? Object.fromEntries(serverErrors(server.stdout())) : null,
    server_exit: serverExit ?? null,
    server_stop: serverStop,
    notes,
  }
}

console.log('building the hostile bodies (the 1 GiB gzip bomb is compressed chunk by chunk)…')
const hostileList = await hostileRequests(BODY_LIMIT)
for (const h of hostileList) console.log(`  ${h.kind}/${h.variant}: ${(h.body.length / 1024).toFixed(0)} KiB`)

const dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-abuse-'))
let server: ServerProcess | undefined
process.on('exit', () => {
  // Never leave a server behind, whatever way this process ends.
  const child = server?.child
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  if (!server) for (const pid of childPids()) process.kill(pid, 'SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    console.log(`${signal}: killing the server`)
    process.exit(130)
  })
const abort = new AbortController()
const deadline = setTimeout(() => {
  notes.push(`hard deadline of ${DEADLINE_MS / 1000} s reached: requests in flight aborted`)
  abort.abort()
}, DEADLINE_MS)
const lastResort = setTimeout(() => {
  notes.push('still stuck 30 s after the hard deadline: the server was killed')
  report(result())
  process.exit(1)
}, DEADLINE_MS + 30_000)

try {
  server = await startServer({
    EDGEWATCH_DATA_DIR: dataDir,
    EDGEWATCH_INGEST_TOKEN: INGEST_TOKEN,
    EDGEWATCH_ADMIN_TOKEN: ADMIN_TOKEN,
    EDGEWATCH_BODY_LIMIT: String(BODY_LIMIT),
    EDGEWATCH_SYNC: process.env.EDGEWATCH_SYNC ?? 'full',
  })
} catch (e) {
  console.log(`the server did not start: ${(e as Error).message}`)
  process.exit(1)
}
const { child } = server
const t0 = performance.now()
const elapsedS = () => (performance.now() - t0) / 1000
let stopping = false
let stopExit = ''
const exited = new Promise<void>((resolve) =>
  child.once('exit', (code, signal) => {
    if (stopping) stopExit = `, exit code ${code}, signal ${signal}`
    else serverExit = { code, signal, at_s: round(elapsedS())! }
    resolve()
  }),
)
memory = watchMemory(child.pid!)
const progress = setInterval(() => {
  console.log(
    `  t=${elapsedS().toFixed(0)} s: good ${good.ok}/${good.requests} acknowledged, hostile ${hostile.requests} ` +
      `answered, server RSS ${serverExit ? 'gone' : `${memory!.figures().maxSampledMb.toFixed(0)} MB max`}`,
  )
}, 5000)

const floodEnd = performance.now() + DURATION_S * 1000
const flooding = () => performance.now() < floodEnd && !serverExit && !abort.signal.aborted
const post = {
  port: Number(new URL(server.url).port),
  timeoutMs: REQUEST_TIMEOUT_MS,
  signal: abort.signal,
  method: 'POST',
  path: '/v1/ingest',
}

let nextHostile = 0
async function hostileSender(): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  while (flooding()) {
    const h = hostileList[nextHostile++ % hostileList.length]!
    const headers = { authorization: `Bearer ${INGEST_TOKEN}`, ...h.headers }
    const a = await send({ ...post, agent, headers, body: h.body })
    hostile.add(h.kind, h.variant, a)
    if (is5xx(a)) server5xx++
  }
  agent.destroy()
}

/** The `accepted` count of an ingest answer, or undefined when it cannot be read. */
function acceptedOf(body: string): number | undefined {
  try {
    return (JSON.parse(body) as { accepted?: number }).accepted
  } catch {
    return undefined
  }
}

/** Well-formed batches on connection w: its own devices, time moving forward, a unique key each. */
async function goodSender(w: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  while (flooding()) {
    const { body, index, records: count } = ledger.next(w)
    const headers = {
      authorization: `Bearer ${INGEST_TOKEN}`,
      'content-type': 'application/x-ndjson',
      'idempotency-key': `abuse-${process.pid}-${w}-${index}`,
    }
    good.requests++
    for (;;) {
      const a = await send({ ...post, agent, headers, body })
      good.attemptMs.push(a.ms)
      if (is5xx(a)) server5xx++
      if (a.status === 503 && errorCode(a) === 'overloaded' && !serverExit && !abort.signal.aborted) {
        good.refused503++
        await sleep(retryAfterMs(a.headers['retry-after'], 30)).catch(() => {})
        continue // the same batch with the same key: one logical request
      }
      const acked = typeof a.status === 'number' && a.status >= 200 && a.status < 300
      ledger.settle(w, index, acked)
      if (acked) {
        good.ok++
        records.acknowledged += count
        if (acceptedOf(a.body) !== count) records.acceptedMismatch++
      } else {
        bump(good.failures, a.status === 'error' ? `error: ${a.error}`.slice(0, 60) : a.status)
        records.unacknowledged += count
      }
      break
    }
  }
  agent.destroy()
}

/**
 * Before the flood, the case on its own: one 8 MiB body of junk lines, and 50 ms into it one
 * well-formed batch, which must not wait for it. The RSS growth is the peak (VmHWM) over the RSS before.
 */
async function solo(): Promise<void> {
  const junk = hostileList.find((h) => h.variant === 'x-lines-8MiB')!
  const before = memoryMb(child.pid!)
  const agent = new Agent({ keepAlive: false })
  const junkAnswer = send({
    ...post,
    agent,
    headers: { authorization: `Bearer ${INGEST_TOKEN}`, ...junk.headers },
    body: junk.body,
  })
  await sleep(50)
  const { body, index, records: count } = ledger.next(0)
  const goodAnswer = await send({
    ...post,
    agent,
    headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/x-ndjson' },
    body,
  })
  const j = await junkAnswer
  agent.destroy()
  const acked = goodAnswer.status === 200
  ledger.settle(0, index, acked)
  good.requests++
  if (acked) {
    good.ok++
    records.acknowledged += count
  } else records.unacknowledged += count
  const after = memoryMb(child.pid!)
  soloFigures = {
    junk_status: j.status,
    junk_ms: round(j.ms),
    good_status: goodAnswer.status,
    good_ms: round(goodAnswer.ms),
    good_answered_before_junk: goodAnswer.ms + 50 < j.ms,
    rss_before_mb: before ? Math.round(before.rss) : null,
    rss_growth_mb: before && after ? Math.round(after.hwm - before.rss) : null,
  }
  console.log(`alone: ${JSON.stringify(soloFigures)}`)
}
await solo()

console.log(
  `flooding ${server.url} for ${DURATION_S} s: ${HOSTILE_CONNECTIONS} hostile connections, ${GOOD_CONNECTIONS} good ` +
    `ones (request timeout ${REQUEST_TIMEOUT_MS / 1000} s, hard deadline ${DEADLINE_MS / 1000} s)`,
)
await Promise.all([
  ...Array.from({ length: HOSTILE_CONNECTIONS }, () => hostileSender()),
  ...Array.from({ length: GOOD_CONNECTIONS }, (_, w) => goodSender(w)),
])
floodWallS = round(elapsedS())
console.log(`flood over after ${floodWallS} s (its requests in flight answered or timed out)`)
if (!serverExit && !abort.signal.aborted)
  stored = await countStored({ ...post, adminToken: ADMIN_TOKEN, ledger, notes })
clearInterval(progress)
memory.stop()
if (serverExit) {
  serverStop = 'had exited'
  notes.push(
    `the server exited at t=${serverExit.at_s} s: code ${serverExit.code}, signal ${serverExit.signal}`,
  )
} else {
  stopping = true
  serverStop = (await stopServer(child, exited)) + stopExit
}
clearTimeout(deadline)
clearTimeout(lastResort)

const r = result()
const audit = stored?.audit
const lost = r.records_lost as number | null
if (!stored) notes.push('records_lost is null: the server could not be asked what it stored')
if (records.acceptedMismatch)
  notes.push(`${records.acceptedMismatch} acknowledged batches accepted fewer records than sent`)
if (stored?.goodExport !== undefined && stored.goodExport !== stored.good)
  notes.push(`export holds ${stored.goodExport} good records, /v1/devices counts ${stored.good}`)
if (audit?.unexpected) notes.push(`${audit.unexpected} exported good-device records match no batch sent`)
/** Negative records_lost without double storage: batches committed after their client gave up waiting. */
const lateCommits = Boolean(
  audit && lost! < 0 && lost! + audit.unacknowledgedStored === 0 && !audit.duplicates,
)
if (lateCommits)
  notes.push(
    `records_lost ${lost} is no double storage: ${audit!.unacknowledgedStored} records of batches that got no ` +
      'answer (timed out or reset) were committed after the client gave up; each record is stored once',
  )

if (serverExit) console.log(`SERVER EXITED; its stderr ends:\n${server.stderr().slice(-1500)}`)
console.log(
  `good: ${good.ok}/${good.requests} acknowledged, ${good.refused503} refused with 503, failures ${JSON.stringify(good.failures)}`,
)
console.log(
  `good latency per attempt: p50 ${r.good_p50_ms} ms, p99 ${r.good_p99_ms} ms, max ${r.good_max_ms} ms`,
)
for (const line of hostile.lines()) console.log(line)
console.log(
  `server RSS: ${r.server_start_rss_mb} MB at start, peak ${r.server_peak_rss_mb} MB; 5xx other than 503: ${server5xx}`,
)
console.log(
  `records: ${records.acknowledged} acknowledged, ${r.stored_records} stored (export: ${r.stored_records_export}), ` +
    `lost ${lost}; ${records.unacknowledged} sent without acknowledgement, ${r.unacknowledged_records_stored} of them ` +
    `stored; export audit: ${r.acknowledged_records_missing} acknowledged missing, ${r.duplicate_records} duplicates, ` +
    `${r.partial_batches} partial batches; records of hostile bodies stored: ${r.hostile_records_stored}`,
)
for (const [error, n] of serverErrors(server.stdout()))
  console.log(`server logged ${n}x: ${error.slice(0, 300)}`)
for (const note of notes) console.log(`note: ${note}`)
const failed = [
  serverExit && 'the server exited',
  !stored && 'the stored records could not be counted',
  lost !== null && lost !== 0 && !lateCommits && `records_lost ${lost}`,
  audit?.acknowledgedMissing && `${audit.acknowledgedMissing} acknowledged records missing from the export`,
  audit?.duplicates && `${audit.duplicates} records stored twice`,
  audit?.partialBatches && `${audit.partialBatches} batches stored in part`,
  stored?.hostile && `${stored.hostile} records of hostile bodies stored`,
  server5xx > 0 && `${server5xx} answers 5xx other than 503`,
  good.ok < good.requests && `${good.requests - good.ok} well-formed requests not acknowledged`,
  hostile.byStatus.timeout &&
    `${hostile.byStatus.timeout} hostile requests got no answer in ${REQUEST_TIMEOUT_MS / 1000} s`,
  abort.signal.aborted && 'the hard deadline was reached',
].filter(Boolean)
if (failed.length) console.log(`FAILED: ${failed.join('; ')}`)
report(r)
process.exitCode = failed.length ? 1 : 0
