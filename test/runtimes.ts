// Every runtime edgewatch ships, started the way a user starts it, on a free local port, with a
// fresh data directory: the contract suite runs the same requests against each.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { projectRoot } from '../kernels/node.js'
import { startServer } from './server-process.js'

export interface RunningRuntime {
  url: string
  /** The process, or the leader of the process group, that serves it. */
  pid: number
  /** True when every process of `pid`'s group belongs to the runtime (workerd runs several). */
  group: boolean
  stop(): Promise<void>
}

export interface Runtime {
  name: string
  start(env: Record<string, string>): Promise<RunningRuntime>
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `edgewatch-${name}-`))
}

/** Spawns a command in its own process group and waits until `url/healthz` answers 200. */
async function spawnUntilHealthy(
  command: string[],
  env: Record<string, string>,
  url: string,
  timeoutMs: number,
) {
  const child: ChildProcess = spawn(command[0]!, command.slice(1), {
    cwd: projectRoot(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  child.stdout!.on('data', (d: Buffer) => {
    output = (output + d).slice(-20_000)
  })
  child.stderr!.on('data', (d: Buffer) => {
    output = (output + d).slice(-20_000)
  })
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${command.join(' ')} exited with ${child.exitCode}:\n${output}`)
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) break
    } catch {}
    if (Date.now() > deadline) {
      process.kill(-child.pid!, 'SIGKILL')
      throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    pid: child.pid!,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      process.kill(-child.pid!, 'SIGTERM')
      const timer = setTimeout(() => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

export const nodeRuntime: Runtime = {
  name: 'node',
  async start(env) {
    const dir = tempDir('node')
    const server = await startServer({ EDGEWATCH_DATA_DIR: dir, ...env })
    return {
      url: server.url,
      pid: server.child.pid!,
      group: false,
      stop: async () => {
        await server.stop('SIGTERM')
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
}

/** A runtime started by a TypeScript entry script (run with tsx) that honours PORT, HOST and EDGEWATCH_DATA_DIR. */
function scriptRuntime(name: string, script: string, timeoutMs: number, prepare = () => {}): Runtime {
  return {
    name,
    async start(env) {
      prepare()
      const dir = tempDir(name)
      const port = await freePort()
      const url = `http://127.0.0.1:${port}`
      const tsx = join(projectRoot(), 'node_modules', 'tsx', 'dist', 'cli.mjs')
      const proc = await spawnUntilHealthy(
        [process.execPath, tsx, script],
        // A data directory given in env wins: several processes may share one (test/writers).
        { PORT: String(port), HOST: '127.0.0.1', EDGEWATCH_DATA_DIR: dir, ...env },
        url,
        timeoutMs,
      )
      return {
        url,
        pid: proc.pid,
        group: true,
        stop: async () => {
          await proc.stop()
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
  }
}

/** The Worker under `wrangler dev` (what `npm run dev:edge` runs). */
export const workerdRuntime = scriptRuntime('workerd', 'functions/worker/dev.ts', 60_000)

/** Builds dist/spin (the app and kernel components) when it is missing (test/global-setup.ts builds it for the tests). */
function ensureSpinBuilt(): void {
  const root = projectRoot()
  if (['edgewatch.wasm', 'kernel.wasm'].every((f) => existsSync(join(root, 'dist', 'spin', f)))) return
  const r = spawnSync('npm', ['run', 'build:spin'], { cwd: root, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`npm run build:spin failed:\n${r.stdout}${r.stderr}`)
}

/** The Spin component under the jco host of test/spin-host (instantiated per request). */
export const spinRuntime = scriptRuntime('spin', 'test/spin-host/server.ts', 120_000, ensureSpinBuilt)

export const RUNTIMES: Runtime[] = [nodeRuntime, workerdRuntime, spinRuntime]
