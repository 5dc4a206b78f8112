// A real tool a test runs beside edgewatch (influxd, Prometheus): started in its own temporary
// directory, its output kept for failure messages, ready once a URL answers with the expected
// status, stopped with SIGTERM (SIGKILL after 5 s) and its directory removed.
import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'

export interface ToolProcess {
  stop(): Promise<void>
  /** What it printed (the last 20,000 characters). */
  output(): string
}

export async function startTool(tool: {
  name: string
  command: string
  args: string[]
  /** Removed when it stops. */
  dir: string
  ready: { url: string; status: number }
}): Promise<ToolProcess> {
  const child: ChildProcess = spawn(tool.command, tool.args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (d: Buffer) => {
    output = (output + d).slice(-20_000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(tool.dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${tool.name} exited with ${child.exitCode}:\n${output}`)
    try {
      if ((await fetch(tool.ready.url)).status === tool.ready.status) break
    } catch {}
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`${tool.name} was not ready within 30 s (${tool.ready.url}):\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { stop, output: () => output }
}
