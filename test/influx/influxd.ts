// A real InfluxDB 1.x (`influxd`, Debian's `influxdb` package) on free local ports with a fresh
// data directory, for comparing what it stores with what edgewatch stores.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../runtimes.js'

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
  const child: ChildProcess = spawn(INFLUXD, ['run', '-config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const keep = (d: Buffer) => {
    output = (output + d).slice(-20_000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const url = `http://127.0.0.1:${http}`
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
    if (child.exitCode !== null) throw new Error(`influxd exited with ${child.exitCode}:\n${output}`)
    try {
      if ((await fetch(`${url}/ping`)).status === 204) break
    } catch {}
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`influxd did not answer /ping within 30 s:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { url, stop, output: () => output }
}
