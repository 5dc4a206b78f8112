// The device agent on Node: the core with a file storage in a state directory, the real clock, fetch,
// the host's free memory, and deployed apps in worker threads (one per app, with the wall-clock
// watchdog; their modules kept in `<stateDir>/apps/`).
import { arch, platform } from 'node:os'
import { type Agent, type AgentOptions, createAgent } from '../agent/agent.js'
import type { AppHost } from '../agent/apps/ports.js'
import { createWorkerAppHost } from './app-host.js'
import { fileAppStore } from './app-store.js'
import { fileStorage } from './file-storage.js'
import { nodeFreeMemory } from './memory.js'

export interface NodeAgentOptions extends Omit<AgentOptions, 'storage' | 'appHost'> {
  /** Where the identity, the outbox and app modules live (created 0700 if missing). */
  stateDir: string
  /** fsync every write (default true). */
  durable?: boolean
  /** Where apps run (default: a worker thread per app); null: this device runs no apps. */
  appHost?: AppHost | null
}

export async function createNodeAgent(options: NodeAgentOptions): Promise<Agent> {
  const { stateDir, durable, appHost, ...rest } = options
  const files = durable === undefined ? {} : { durable }
  const host = appHost === undefined ? createWorkerAppHost() : appHost
  return createAgent({
    platform: `node-${process.versions.node} ${platform()}-${arch()}`,
    memory: nodeFreeMemory,
    ...rest,
    ...(host === null ? {} : { appHost: host }),
    storage: { ...(await fileStorage(stateDir, files)), apps: await fileAppStore(stateDir, files) },
  })
}
