// Starts the real `edgewatch serve` (the compiled CLI) on a free port, for integration tests.
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { projectRoot } from '../kernels/node.js'

export interface ServerProcess {
  url: string
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/** `root`: another checkout's build to run instead of this one (benchmarks compare builds). */
export async function startServer(env: Record<string, string>, root = projectRoot()): Promise<ServerProcess> {
  const child = spawn(process.execPath, [join(root, 'bin', 'edgewatch.js'), 'serve'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => {
    out += d
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${err}`)), 30_000)
    child.stderr!.on('data', (d: Buffer) => {
      err += d
      const m = /listening on (http:\/\/\S+)/.exec(err)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${err}`)))
  })
  return {
    url,
    child,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      child.kill(signal)
      return exited
    },
  }
}
