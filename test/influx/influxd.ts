// A real InfluxDB 1.x (`influxd`, Debian's `influxdb` package) on free local ports with a fresh
// data directory, for comparing what it stores with what edgewatch stores.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../runtimes.js'
import { startTool } from '../tool-process.js'

export const INFLUXD = process.env.INFLUXD ?? '/usr/bin/influxd'

export function influxdInstalled(): boolean {
  return existsSync(INFLUXD)
}

export interface Influxd {
  url: string
  stop(): Promise<void>
  /** What it printed (for failures). */
  output(): string
}

export async function startInfluxd(): Promise<Influxd> {
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-influxd-'))
  const [http, rpc] = [await freePort(), await freePort()]
  const config = join(dir, 'influxd.conf')
  writeFileSync(
    config,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpc}"`,
      '[meta]',
      `  dir = "${join(dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(dir, 'data')}"`,
      `  wal-dir = "${join(dir, 'wal')}"`,
      '  query-log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${http}"`,
      '  log-enabled = false',
      '[continuous_queries]',
      '  enabled = false',
      '',
    ].join('\n'),
  )
  const url = `http://127.0.0.1:${http}`
  const tool = await startTool({
    name: 'influxd',
    command: INFLUXD,
    args: ['run', '-config', config],
    dir,
    ready: { url: `${url}/ping`, status: 204 },
  })
  return { url, ...tool }
}
