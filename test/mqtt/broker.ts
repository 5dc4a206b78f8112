// A real Mosquitto broker (Debian's `mosquitto`) on a free local port, with a temporary config and
// one user (the tests connect as edgewatch would: credentials in the URL). Ready once its port
// accepts a TCP connection; stopped with SIGTERM (SIGKILL after 5 s) and its directory removed.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../runtimes.js'

export const MOSQUITTO = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto'
const MOSQUITTO_PASSWD = process.env.MOSQUITTO_PASSWD ?? '/usr/bin/mosquitto_passwd'

export function mosquittoInstalled(): boolean {
  return existsSync(MOSQUITTO) && existsSync(MOSQUITTO_PASSWD)
}

export interface Broker {
  /** mqtt://user:pass@127.0.0.1:port */
  url: string
  stop(): Promise<void>
  output(): string
}

export const BROKER_USER = 'edgewatch'
export const BROKER_PASSWORD = 'broker-secret-1'

export async function startBroker(): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-mosquitto-'))
  const port = await freePort()
  const passwords = join(dir, 'passwords')
  execFileSync(MOSQUITTO_PASSWD, ['-c', '-b', passwords, BROKER_USER, BROKER_PASSWORD])
  const config = join(dir, 'mosquitto.conf')
  writeFileSync(
    config,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwords}`,
      // Started as root, mosquitto would switch to its own user, who cannot read this directory.
      `user ${userInfo().username}`,
      'persistence false',
      // A persistent session keeps every message while edgewatch is down (the default keeps 1000).
      'max_queued_messages 0',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      '',
    ].join('\n'),
  )
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] })
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
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}:\n${output}`)
    if (await accepts(port)) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`mosquitto was not listening on ${port} within 30 s:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url: `mqtt://${BROKER_USER}:${BROKER_PASSWORD}@127.0.0.1:${port}`,
    stop,
    output: () => output,
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
