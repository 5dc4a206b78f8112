// The app module store in memory: for tests, and for hosts with nowhere to keep files. Content is
// addressed by its sha256, so many agents may share one store (a simulated fleet keeps each module
// once). `put` copies the bytes in; `get` answers the stored copy, which callers only read.
import type { AppStore } from './ports.js'

export function memoryAppStore(): AppStore {
  const modules = new Map<string, Uint8Array>()
  return {
    async put(sha256, bytes) {
      if (!modules.has(sha256)) modules.set(sha256, bytes.slice())
    },
    get: async (sha256) => modules.get(sha256) ?? null,
    async delete(sha256) {
      modules.delete(sha256)
    },
    list: async () => [...modules.keys()],
  }
}
