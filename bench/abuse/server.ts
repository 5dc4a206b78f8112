// The server process as bench:abuse watches it: its memory, the errors it logged, how it stops.
import type { ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'

/** VmRSS and VmHWM of a process in MB, or undefined once it is gone. */
export function memoryMb(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 }
  } catch {
    return undefined
  }
}

/** Samples VmRSS every 100 ms; the peak is the larger of the kernel's VmHWM and the largest sample. */
export function watchMemory(pid: number) {
  const m = { startMb: memoryMb(pid)?.rss ?? null, peakMb: 0, maxSampledMb: 0 }
  const sample = () => {
    const now = memoryMb(pid)
    if (!now) return
    m.maxSampledMb = Math.max(m.maxSampledMb, now.rss)
    m.peakMb = Math.max(m.peakMb, now.hwm, now.rss)
  }
  sample()
  const timer = setInterval(sample, 100)
  return {
    figures: () => m,
    stop: () => {
      sample()
      clearInterval(timer)
    },
  }
}

/** Our own child processes by pid: the fallback when startServer failed without handing the server back. */
export function childPids(): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) pids.push(Number(name))
    } catch {}
  }
  return pids
}

/** The errors the server logged (JSON log lines at level error): first line and frame, most frequent first. */
export function serverErrors(log: string): [string, number][] {
  const counts = new Map<string, number>()
  for (const line of log.split('\n')) {
    if (!line.includes('"level":"error"')) continue
    let key = line.slice(0, 300)
    try {
      const e = JSON.parse(line) as { error?: string; msg?: string }
      const [first, at] = String(e.error ?? e.msg ?? line).split('\n')
      key = at ? `${first} (${at.trim()})` : first!
    } catch {}
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].sort((x, y) => y[1] - x[1]).slice(0, 5)
}

/** SIGTERM, then SIGKILL if it is still there after `graceMs`; says which it took. */
export async function stopServer(
  child: ChildProcess,
  exited: Promise<unknown>,
  graceMs = 15_000,
): Promise<string> {
  child.kill('SIGTERM')
  if (await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])) return 'SIGTERM'
  child.kill('SIGKILL')
  await Promise.race([exited, sleep(5000)])
  return `SIGKILL: SIGTERM was not obeyed in ${graceMs / 1000} s`
}
