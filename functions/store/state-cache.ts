// Hot series state in memory over any store, for a single long-lived process (Node, a Durable
// Object). States enter the cache only after their commit succeeded, at the version it stored; the
// least recently used leave first. A commit that conflicts drops the series it touched, so the
// retry reads what the other writer committed.
import type { SeriesState } from '../domain/types.js'
import { CommitConflictError, type Store, seriesKey } from './port.js'
import { wrapStore } from './wrap.js'

export function withStateCache(store: Store, maxSeries = 50_000): Store {
  const cache = new Map<string, SeriesState>()
  const remember = (key: string, state: SeriesState) => {
    cache.delete(key)
    cache.set(key, state)
    if (cache.size > maxSeries) cache.delete(cache.keys().next().value!)
  }
  return {
    ...wrapStore(store, (_, method) => method),
    async loadStates(series) {
      const found = new Map<string, SeriesState>()
      const missing: typeof series = []
      for (const s of series) {
        const key = seriesKey(s.deviceId, s.metric)
        const hit = cache.get(key)
        if (hit) found.set(key, hit)
        else missing.push(s)
      }
      if (missing.length > 0)
        for (const [key, state] of await store.loadStates(missing)) found.set(key, state)
      return found
    },
    async commitIngest(batch) {
      try {
        await store.commitIngest(batch)
      } catch (e) {
        if (e instanceof CommitConflictError)
          for (const s of batch.states) cache.delete(seriesKey(s.deviceId, s.metric))
        throw e
      }
      for (const s of batch.states)
        remember(seriesKey(s.deviceId, s.metric), { ...s, version: s.version + 1 })
    },
    async purge(cutoffs) {
      // Purged series must be read again (they are gone, or the commit will say so).
      cache.clear()
      return store.purge(cutoffs)
    },
  }
}
