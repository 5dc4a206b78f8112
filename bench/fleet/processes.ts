// The processes of the fleet benchmark: `edgewatch simulate` as users run it, and what /proc says
// about a process's memory.
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { projectRoot } from '../../kernels/node.js'
import { memoryMb as processMemoryMb } from '../abuse/server.js'

/** Resident memory now and its peak, MB, of a process that is still running. */
export function memoryMb(pid: number): { rss: number; hwm: number } {
  const m = processMemoryMb(pid)
  if (!m) throw new Error(`process ${pid} is gone`)
  return m
}

export async function enrolmentToken(
  server: string,
  admin: string,
  maxUses: number,
  labels: Record<string, string>,
): Promise<string> {
  const made = await fetch(`${server}/v1/fleet/enrolment-tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ maxUses, labels }),
  })
  return ((await made.json()) as { token: string }).token
}

export interface Simulation {
  child: ChildProcess
  /** Its exit code and its last line (the result), once it has stopped. */
  done: Promise<{ code: number | null; result: Record<string, unknown> }>
}

/** `edgewatch simulate` in its own process; it stops by itself (its duration), or on SIGTERM, with a 30 min backstop. */
export function runSimulate(server: string, token: string, admin: string, args: string[]): Simulation {
  const child = spawn(
    process.execPath,
    [
      join(projectRoot(), 'bin', 'edgewatch.js'),
      'simulate',
      '--server',
      server,
      '--enrol',
      token,
      '--admin-token',
      admin,
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout!.on('data', (d: Buffer) => {
    out += d
  })
  const backstop = setTimeout(() => child.kill('SIGKILL'), 30 * 60_000)
  const done = new Promise<{ code: number | null; result: Record<string, unknown> }>((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(backstop)
      const line = out.trim().split('\n').pop() ?? '{}'
      let result: Record<string, unknown> = {}
      try {
        result = JSON.parse(line) as Record<string, unknown>
      } catch {
        result = { error: `simulate printed no result: ${line.slice(0, 200)}` }
      }
      resolve({ code, result })
    }),
  )
  return { child, done }
}
