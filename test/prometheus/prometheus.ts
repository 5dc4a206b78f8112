// A real Prometheus (Debian's `prometheus` package) on a free local port with a temporary config and
// storage directory, scraping one target often, and a client for its HTTP query API.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../runtimes.js'
import { startTool } from '../tool-process.js'

export const PROMETHEUS = process.env.PROMETHEUS ?? '/usr/bin/prometheus'

export function prometheusInstalled(): boolean {
  return existsSync(PROMETHEUS)
}

/** One sample of an instant vector: its labels and its value. */
export interface Sample {
  metric: Record<string, string>
  value: number
}

export interface Prometheus {
  url: string
  /** An instant query (`/api/v1/query`); throws with Prometheus's error when the query is refused. */
  query(promql: string): Promise<Sample[]>
  stop(): Promise<void>
  /** What it printed (for failures). */
  output(): string
}

export interface ScrapeTarget {
  /** The server's base URL; `/metrics` is scraped. */
  url: string
  job: string
  intervalSeconds: number
  /** Sent as `Authorization: Bearer`, when the target needs it. */
  bearerToken?: string
}

export async function startPrometheus(target: ScrapeTarget): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-prometheus-'))
  const port = await freePort()
  const { host } = new URL(target.url)
  const config = join(dir, 'prometheus.yml')
  writeFileSync(
    config,
    [
      'global:',
      `  scrape_interval: ${target.intervalSeconds}s`,
      `  evaluation_interval: ${target.intervalSeconds}s`,
      'scrape_configs:',
      `  - job_name: ${JSON.stringify(target.job)}`,
      '    metrics_path: /metrics',
      `    scrape_timeout: ${target.intervalSeconds}s`,
      ...(target.bearerToken
        ? [
            '    authorization:',
            '      type: Bearer',
            `      credentials: ${JSON.stringify(target.bearerToken)}`,
          ]
        : []),
      '    static_configs:',
      `      - targets: [${JSON.stringify(host)}]`,
      '',
    ].join('\n'),
  )
  const url = `http://127.0.0.1:${port}`
  const { stop, output } = await startTool({
    name: 'prometheus',
    command: PROMETHEUS,
    args: [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    dir,
    ready: { url: `${url}/-/ready`, status: 200 },
  })
  const query = async (promql: string): Promise<Sample[]> => {
    const res = await fetch(`${url}/api/v1/query`, {
      method: 'POST',
      body: new URLSearchParams({ query: promql }),
    })
    const body = (await res.json()) as {
      status: string
      error?: string
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }
    }
    if (body.status !== 'success') throw new Error(`prometheus refused ${promql}: ${body.error}`)
    if (body.data!.resultType !== 'vector')
      throw new Error(`${promql} gave a ${body.data!.resultType}, not a vector`)
    return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }))
  }
  return { url, query, stop, output }
}
