// A real Prometheus (Debian's `prometheus` package) on a free local port with a temporary config and
// storage directory, scraping one target often, and a client for its HTTP query API.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../runtimes.js'

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
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const keep = (d: Buffer) => {
    output = (output + d).slice(-20_000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const url = `http://127.0.0.1:${port}`
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output}`)
    try {
      if ((await fetch(`${url}/-/ready`)).status === 200) break
    } catch {}
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`prometheus was not ready within 30 s:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
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
  return { url, query, stop, output: () => output }
}
