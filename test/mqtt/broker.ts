// A real Mosquitto broker (Debian's `mosquitto`) on a free local port, with a temporary config and
// one user (the tests connect as edgewatch would: credentials in the URL). Ready once its port
// accepts a TCP connection (test/tool-process.ts starts, watches and stops it).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../runtimes.js'
import { startTool } from '../tool-process.js'

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

export interface BrokerOptions {
  /** Listen here (default: a free port); a broker started again on the same port comes back for its clients. */
  port?: number
  /**
   * Keep sessions and queued messages in this directory (it outlives the broker), so a broker stopped
   * and started again still holds what it had taken; default: in memory only.
   */
  persistenceDir?: string
  /** Lines of a Mosquitto ACL file (e.g. `user edgewatch`, `topic write edgewatch/a/#`); default: no ACL. */
  acl?: string[]
}

export async function startBroker(options: BrokerOptions = {}): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-mosquitto-'))
  const port = options.port ?? (await freePort())
  const passwords = join(dir, 'passwords')
  execFileSync(MOSQUITTO_PASSWD, ['-c', '-b', passwords, BROKER_USER, BROKER_PASSWORD])
  const acl = join(dir, 'acl')
  if (options.acl) writeFileSync(acl, `${options.acl.join('\n')}\n`)
  const config = join(dir, 'mosquitto.conf')
  writeFileSync(
    config,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${passwords}`,
      ...(options.acl ? [`acl_file ${acl}`] : []),
      // Started as root, mosquitto would switch to its own user, who cannot read this directory.
      `user ${userInfo().username}`,
      ...(options.persistenceDir
        ? ['persistence true', `persistence_location ${options.persistenceDir}/`]
        : ['persistence false']),
      // A persistent session keeps every message while edgewatch is down (the default keeps 1000).
      'max_queued_messages 0',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'log_type notice',
      '',
    ].join('\n'),
  )
  const tool = await startTool({
    name: 'mosquitto',
    command: MOSQUITTO,
    args: ['-c', config],
    dir,
    ready: { port },
  })
  return { url: `mqtt://${BROKER_USER}:${BROKER_PASSWORD}@127.0.0.1:${port}`, ...tool }
}
