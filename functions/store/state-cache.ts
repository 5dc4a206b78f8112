// Hot series state in memory over any store, for a single long-lived process (Node).
// States enter the cache only after their commit succeeded; the least recently used leave first.
import type { SeriesState } from '../domain/types.js'
import { type Store, seriesKey } from './port.js'
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
      await store.commitIngest(batch)
      for (const s of batch.states) remember(seriesKey(s.deviceId, s.metric), s)
    },
  }
}
