// The storage port in memory: for tests, and for hosts with nowhere to keep anything. Keeping one
// instance and handing it to a new agent is a restart that kept its storage.
import type { AgentStorage, Identity, SealedBatch } from './ports.js'

export interface MemoryStorage extends AgentStorage {
  /** The batches kept, oldest first (a copy), for tests. */
  batches(): SealedBatch[]
}

export function memoryStorage(options: { extractableKeys?: boolean } = {}): MemoryStorage {
  let identity: Identity | null = null
  let batches: SealedBatch[] = []
  let dropped = 0
  return {
    identity: {
      extractableKeys: options.extractableKeys ?? false,
      loadIdentity: async () => identity && { ...identity },
      saveIdentity: async (next) => {
        identity = { ...next }
      },
    },
    outbox: {
      async append(batch, limit) {
        batches.push({ ...batch })
        const excess = Math.max(0, batches.length - limit)
        if (excess > 0) {
          batches = batches.slice(excess)
          dropped += excess
        }
        return excess
      },
      oldest: async (n) => batches.slice(0, n).map((b) => ({ ...b })),
      async delete(ids) {
        const gone = new Set(ids)
        batches = batches.filter((b) => !gone.has(b.id))
      },
      count: async () => batches.length,
      dropped: async () => dropped,
    },
    batches: () => batches.map((b) => ({ ...b })),
  }
}
