// InfluxDB for the side-by-side ingest comparison: Debian's `influxd` (1.x) started on free loopback
// ports with its data in a temporary directory, and the line protocol of the same records edgewatch
// gets. Only used when `influxd` is installed (`apt-get install influxdb`).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface BenchRecord {
  deviceId: string
  ts: number
  temp: number
  latencyMs: number
  msg: string
}

export function influxdPath(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v influxd'], { encoding: 'utf8' }).trim() || null
  } catch {
    return null
  }
}

/** One record as a line: measurement `telemetry`, the device as a tag, the metrics and the message as fields. */
export function lineOf(r: BenchRecord): string {
  const msg = r.msg.replace(/["\\]/g, (c) => `\\${c}`)
  return `telemetry,device=${r.deviceId} temp=${r.temp},latencyMs=${r.latencyMs},msg="${msg}" ${r.ts}`
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

export interface Influx {
  url: string
  pid: number
  /** The URL path and query that writes a body of lines with millisecond timestamps. */
  writePath: string
  stop(): Promise<void>
}

export async function startInflux(binary: string): Promise<Influx> {
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-bench-influx-'))
  const [http, rpc] = [await freePort(), await freePort()]
  const config = join(dir, 'influxdb.conf')
  writeFileSync(
    config,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpc}"`,
      '[meta]',
      `  dir = "${dir}/meta"`,
      '[data]',
      `  dir = "${dir}/data"`,
      `  wal-dir = "${dir}/wal"`,
      '  query-log-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${http}"`,
      '  log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[logging]',
      '  level = "error"',
    ].join('\n'),
  )
  const child: ChildProcess = spawn(binary, ['-config', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d).slice(-4000)
  })
  const url = `http://127.0.0.1:${http}`
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      if ((await fetch(`${url}/ping`)).status === 204) break
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`influxd did not start:\n${err}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  const made = await fetch(`${url}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q: 'CREATE DATABASE bench' }),
  })
  if (!made.ok) throw new Error(`influxd: CREATE DATABASE answered ${made.status}`)
  return {
    url,
    pid: child.pid!,
    writePath: '/write?db=bench&precision=ms',
    async stop() {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))])
      if (child.exitCode === null) child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
