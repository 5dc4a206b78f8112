// The Grafana dashboard (deploy/grafana/edgewatch.json) is a dashboard Grafana imports, and every
// PromQL target asks only for series that a real /metrics response carries.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectRoot } from '../../kernels/node.js'
import { type ServerProcess, startServer } from '../server-process.js'
import { declaredNames, metricNames, seriesLines } from './promql.js'

interface Panel {
  id: number
  type: string
  title: string
  gridPos: { h: number; w: number; x: number; y: number }
  datasource?: { type: string; uid: string }
  targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[]
}
const dashboard = JSON.parse(readFileSync(join(projectRoot(), 'deploy/grafana/edgewatch.json'), 'utf8')) as {
  title: string
  uid: string
  schemaVersion: number
  panels: Panel[]
  templating: { list: { name: string; type: string; query: unknown }[] }
}
const targets = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })))

describe('metricNames', () => {
  it('finds the metric names of an expression and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(a_seconds_bucket{job=~"$job",op="x y"}[$__rate_interval]))) / on (job) b_total offset 5m * 1e3',
      ).sort(),
    ).toEqual(['a_seconds_bucket', 'b_total'])
    expect(metricNames('sum(rate(c_total[1m])) or vector(0)')).toEqual(['c_total'])
  })
})

describe('the Grafana dashboard', () => {
  it('is a dashboard: schema version, unique panel ids, a place on the grid, a Prometheus data source', () => {
    expect(dashboard.title).toBe('edgewatch')
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/)
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    const ids = dashboard.panels.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const p of dashboard.panels) {
      expect(p.gridPos.w).toBeGreaterThan(0)
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24)
      if (p.type === 'row') continue
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable, not a template
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' })
      expect(p.targets!.length, p.title).toBeGreaterThan(0)
      const refIds = p.targets!.map((t) => t.refId)
      expect(new Set(refIds).size).toBe(refIds.length)
    }
    const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]))
    expect(vars.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' })
    expect(vars.job).toMatchObject({ type: 'query' })
  })

  it('charts ingest, anomalies by kind, devices by status, request latency, commit duration, overload and conflicts', () => {
    const all = targets.map((t) => t.expr).join('\n')
    for (const needle of [
      'rate(edgewatch_records_ingested_total',
      'sum by (kind) (rate(edgewatch_anomalies_total',
      'max by (status) (edgewatch_devices',
      'edgewatch_http_request_duration_seconds_bucket',
      'op="commitIngest"',
      'edgewatch_overloaded_total',
      'edgewatch_commit_conflicts_total',
    ])
      expect(all).toContain(needle)
  })

  describe('against a real /metrics', () => {
    let server: ServerProcess
    let dataDir: string
    let text: string
    const ADMIN = 'dash-admin-token-0123456789'
    const INGEST = 'dash-ingest-token-0123456789'

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'edgewatch-dash-'))
      server = await startServer({
        EDGEWATCH_DATA_DIR: dataDir,
        EDGEWATCH_ADMIN_TOKEN: ADMIN,
        EDGEWATCH_INGEST_TOKEN: INGEST,
      })
      // Some traffic, so that the histograms and the anomaly counter have series.
      const res = await fetch(`${server.url}/v1/ingest`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': 'application/json' },
        body: JSON.stringify([{ deviceId: 'd-1', temp: 90, level: 'error' }]),
      })
      expect(res.status).toBe(200)
      await fetch(`${server.url}/metrics`)
      text = await (await fetch(`${server.url}/metrics`)).text()
    })
    afterAll(async () => {
      await server?.stop('SIGTERM')
      if (dataDir) rmSync(dataDir, { recursive: true, force: true })
    })

    it('every target selects only metrics that /metrics emits, and has series for them', () => {
      const declared = declaredNames(text)
      const emitted = new Set(seriesLines(text).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0]))
      expect(declared.size).toBeGreaterThan(10)
      for (const t of targets) {
        const names = metricNames(t.expr)
        expect(names.length, `${t.panel}: ${t.expr}`).toBeGreaterThan(0)
        for (const name of names) {
          expect(declared.has(name), `${t.panel}: ${name} is not declared by /metrics`).toBe(true)
          expect(emitted.has(name), `${t.panel}: /metrics has no series of ${name}`).toBe(true)
        }
      }
    })
  })
})
