// A real tool a test runs beside edgewatch (influxd, Prometheus, Mosquitto): started in its own
// temporary directory, its output kept for failure messages, ready once `ready` says so (a URL that
// answers with the expected status, or a port that accepts a connection), stopped with SIGTERM
// (SIGKILL after 5 s) and its directory removed.
import { type ChildProcess, spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { connect } from 'node:net'

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
  ready: { url: string; status: number } | { port: number }
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
    if (await isReady(tool.ready)) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`${tool.name} was not ready within 30 s (${JSON.stringify(tool.ready)}):\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { stop, output: () => output }
}

async function isReady(ready: { url: string; status: number } | { port: number }): Promise<boolean> {
  if ('url' in ready) {
    try {
      return (await fetch(ready.url)).status === ready.status
    } catch {
      return false
    }
  }
  return new Promise((resolve) => {
    const socket = connect(ready.port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
