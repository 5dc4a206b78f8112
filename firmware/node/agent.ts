// The device agent on Node: the core with a file storage in a state directory, the real clock, fetch,
// and the host's free memory.
import { arch, platform } from 'node:os'
import { type Agent, type AgentOptions, createAgent } from '../agent/agent.js'
import { fileStorage } from './file-storage.js'
import { nodeFreeMemory } from './memory.js'

export interface NodeAgentOptions extends Omit<AgentOptions, 'storage'> {
  /** Where the identity and the outbox live (created 0700 if missing). */
  stateDir: string
  /** fsync every write (default true). */
  durable?: boolean
}

export async function createNodeAgent(options: NodeAgentOptions): Promise<Agent> {
  const { stateDir, durable, ...rest } = options
  return createAgent({
    platform: `node-${process.versions.node} ${platform()}-${arch()}`,
    memory: nodeFreeMemory,
    ...rest,
    storage: await fileStorage(stateDir, durable === undefined ? {} : { durable }),
  })
}
