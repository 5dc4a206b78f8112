// A real Prometheus scrapes the real `edgewatch serve` every second; what it stored, read back through
// its query API, is what edgewatch did: records ingested and rejected, anomalies by kind, devices by
// status, enrolments and heartbeats. Every query of the Grafana dashboard runs on it too.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectRoot } from '../../kernels/node.js'
import { type TestDevice, testDevice } from '../device-client.js'
import { type ServerProcess, startServer } from '../server-process.js'
import {
  PROMETHEUS,
  type Prometheus,
  prometheusInstalled,
  type Sample,
  startPrometheus,
} from './prometheus.js'

const CI = Boolean(process.env.CI)
const installed = prometheusInstalled()
const ADMIN = 'prom-admin-token-0123456789'
const INGEST = 'prom-ingest-token-0123456789'
const JOB = 'edgewatch'

if (!installed && !CI)
  console.warn(
    `\n*** SKIPPED test/prometheus/scrape.test.ts: ${PROMETHEUS} is not installed (apt-get install -y prometheus). ` +
      'Under CI this fails instead. ***\n',
  )

/** Polls `read` until `ok` holds, or throws after `ms` with the last value. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (v: T) => boolean,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await read()
    if (ok(v)) return v
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; last ${JSON.stringify(v)}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

const byLabel = (samples: Sample[], label: string) =>
  Object.fromEntries(samples.map((s) => [s.metric[label]!, s.value]))

describe.runIf(installed || CI)('Prometheus scraping edgewatch serve', () => {
  let server: ServerProcess
  let prometheus: Prometheus
  let dataDir: string
  const expected = { accepted: 0, rejected: 0, anomalies: {} as Record<string, number> }

  const api = (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, init)
  const admin = async (path: string, body?: unknown) => {
    const res = await api(path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    expect(res.status, `${path}: ${await res.clone().text()}`).toBeLessThan(300)
    return res.json() as Promise<Record<string, unknown>>
  }
  const tally = async (res: Response) => {
    const body = (await res.json()) as {
      accepted: number
      rejectedCount: number
      anomalyCount?: number
      anomalies: { kind: string }[]
    }
    expect(res.status).toBe(200)
    expect(body.anomalies.length).toBe(body.anomalyCount ?? body.anomalies.length)
    expected.accepted += body.accepted
    expected.rejected += body.rejectedCount
    for (const a of body.anomalies) expected.anomalies[a.kind] = (expected.anomalies[a.kind] ?? 0) + 1
  }
  const ingest = (lines: object[]) =>
    api('/v1/ingest', {
      method: 'POST',
      headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': 'application/x-ndjson' },
      body: lines.map((l) => JSON.stringify(l)).join('\n'),
    })

  beforeAll(async () => {
    if (!installed)
      throw new Error(
        `prometheus is not installed at ${PROMETHEUS} (CI set): .ci/run installs Debian's prometheus package; ` +
          'without it /metrics cannot be checked against a real Prometheus',
      )
    dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-prom-'))
    server = await startServer({
      EDGEWATCH_DATA_DIR: dataDir,
      EDGEWATCH_ADMIN_TOKEN: ADMIN,
      EDGEWATCH_INGEST_TOKEN: INGEST,
    })
    // GET /metrics needs no token (it is outside /v1), so the scrape sends none.
    prometheus = await startPrometheus({ url: server.url, job: JOB, intervalSeconds: 1 })

    // Four devices that send records with the shared ingest token (status `unmanaged`): a steady
    // temperature with errors, overheating and slow answers among it, and a level shift.
    const start = Date.parse('2026-11-30T00:00:00Z')
    for (let batch = 0; batch < 3; batch++) {
      const lines: object[] = []
      for (let d = 0; d < 4; d++)
        for (let i = batch * 50; i < (batch + 1) * 50; i++) {
          const line: Record<string, unknown> = {
            deviceId: `prom-${d}`,
            ts: start + i * 1000,
            temp: 40 + (i % 5) * 0.1 + (d === 3 && i >= 120 ? 25 : 0),
            latencyMs: 100 + (i % 7),
          }
          if (i % 37 === 5) Object.assign(line, { level: 'error', msg: 'valve stuck' })
          if (d === 1 && i % 40 === 39) line.temp = 95
          if (d === 2 && i % 30 === 29) line.latencyMs = 2500
          lines.push(line)
        }
      // A record without a device id: rejected, and counted so.
      if (batch === 1) lines.push({ ts: start, temp: 1 })
      await tally(await ingest(lines))
    }

    // Enrolled devices: one connected (heartbeat), one pending (never heard from), one that said
    // goodbye (disconnected) and one revoked.
    const { token } = (await admin('/v1/fleet/enrolment-tokens', { maxUses: 4 })) as { token: string }
    const devices: TestDevice[] = []
    for (let i = 0; i < 4; i++) {
      const d = await testDevice((path, init) => api(path, init))
      expect((await d.enrol(token)).status).toBe(201)
      devices.push(d)
    }
    const [connected, , goodbye, revoked] = devices
    for (const d of [connected!, goodbye!]) {
      expect((await d.login()).status).toBe(200)
      expect((await d.heartbeat()).status).toBe(200)
    }
    await tally(await connected!.ingest([{ ts: start, temp: 20, level: 'fatal', msg: 'boot loop' }]))
    expect((await goodbye!.goodbye()).status).toBeLessThan(300)
    await admin(`/v1/devices/${revoked!.deviceId}/revoke`, {})
  }, 90_000)

  afterAll(async () => {
    await prometheus?.stop()
    await server?.stop('SIGTERM')
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  /** The newest scraped value of each series of `promql`, once a scrape has seen everything sent. */
  const scraped = async (promql: string) => {
    await until(
      'a scrape after the last request',
      () => prometheus.query(`edgewatch_records_ingested_total{job="${JOB}"}`),
      (s) => s.length === 1 && s[0]!.value === expected.accepted,
    )
    return prometheus.query(promql)
  }

  it('scrapes the target', async () => {
    const up = await until(
      'up',
      () => prometheus.query(`up{job="${JOB}"}`),
      (s) => s[0]?.value === 1,
    )
    expect(up).toHaveLength(1)
  })

  it('has the records ingested and rejected', async () => {
    expect(expected.accepted).toBe(601)
    expect(expected.rejected).toBe(1)
    const ingested = await scraped(`edgewatch_records_ingested_total{job="${JOB}"}`)
    expect(ingested.map((s) => s.value)).toEqual([601])
    const rejected = await scraped(`edgewatch_records_rejected_total{job="${JOB}"}`)
    expect(rejected.map((s) => s.value)).toEqual([1])
  })

  it('has the anomalies by kind, as many of each as the ingest answers listed', async () => {
    // The rules' kinds are certain: 4 devices x 4 records with i % 37 === 5, plus the fatal one.
    expect(expected.anomalies.error).toBe(17)
    expect(expected.anomalies.high_temp).toBe(3)
    expect(expected.anomalies.slow_response).toBe(5)
    const kinds = Object.keys(expected.anomalies)
    expect(kinds.length).toBeGreaterThanOrEqual(4) // a kernel kind (the level shift) besides the rules
    const samples = await scraped(`sum by (kind) (edgewatch_anomalies_total{job="${JOB}"})`)
    expect(byLabel(samples, 'kind')).toEqual(expected.anomalies)
  })

  it('has the devices by status', async () => {
    const samples = await scraped(`edgewatch_devices{job="${JOB}"}`)
    expect(byLabel(samples, 'status')).toEqual({
      pending: 1,
      connected: 1,
      unreachable: 0,
      disconnected: 1,
      revoked: 1,
      unmanaged: 4,
    })
    const fleet = await scraped(
      `label_replace(edgewatch_enrolments_total{job="${JOB}"}, "m", "enrolments", "", "") or ` +
        `label_replace(edgewatch_heartbeats_total{job="${JOB}"}, "m", "heartbeats", "", "")`,
    )
    expect(byLabel(fleet, 'm')).toEqual({ enrolments: 4, heartbeats: 2 })
  })

  it('runs every query of the Grafana dashboard, and the ones about what happened give data', async () => {
    const dashboard = JSON.parse(
      readFileSync(join(projectRoot(), 'deploy/grafana/edgewatch.json'), 'utf8'),
    ) as {
      panels: { title: string; targets?: { expr: string }[] }[]
    }
    // rate() needs an increase between two scrapes: once a scrape has seen everything so far, more
    // records (with anomalies) and more requests, then two more scrapes.
    await scraped('up')
    await new Promise((r) => setTimeout(r, 1500))
    const start = Date.parse('2026-11-30T01:00:00Z')
    await tally(
      await ingest(
        Array.from({ length: 20 }, (_, i) => ({
          deviceId: 'prom-0',
          ts: start + i * 1000,
          temp: 40,
          ...(i % 5 === 0 ? { level: 'error' } : {}),
        })),
      ),
    )
    await scraped('up')
    await new Promise((r) => setTimeout(r, 2500))
    const empty: string[] = []
    const zero: string[] = []
    let queries = 0
    for (const panel of dashboard.panels)
      for (const t of panel.targets ?? []) {
        // Grafana's variables, as Grafana would fill them in for this Prometheus.
        const expr = t.expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', JOB)
        const result = await prometheus.query(expr)
        queries++
        if (result.length === 0) empty.push(`${panel.title}: ${t.expr}`)
        else if (!result.some((s) => s.value > 0)) zero.push(`${panel.title}: ${t.expr}`)
      }
    expect(queries).toBeGreaterThan(10)
    // Every query gives series. Those at 0 are only what did not happen here: overload, conflicts,
    // restarts, refused credentials, enrolments and heartbeats in the last minute, open streams.
    expect(empty).toEqual([])
    for (const e of zero)
      expect(e).toMatch(
        /records_rejected|overloaded|commit_conflicts|series_restarted|device_auth_refused|enrolments|heartbeats|streams_open/,
      )
    // And what did happen shows: ingest rate, anomalies, request latency, commit duration, devices.
    const shown = (re: RegExp) =>
      dashboard.panels
        .flatMap((p) => p.targets ?? [])
        .filter((t) => re.test(t.expr) && !zero.some((z) => z.endsWith(t.expr)))
    for (const re of [
      /rate\(edgewatch_records_ingested_total/,
      /edgewatch_anomalies_total/,
      /edgewatch_http_request_duration_seconds_bucket/,
      /commitIngest/,
      /edgewatch_devices/,
    ])
      expect(shown(re).length, String(re)).toBeGreaterThan(0)
  }, 60_000)
})
