// Wraps a store so that every operation's latency lands in the store histogram.
import type { Store } from '../store/port.js'
import { wrapStore } from '../store/wrap.js'
import type { Metrics } from './metrics.js'

export function instrumentStore(store: Store, metrics: Metrics): Store {
  return wrapStore(store, (op, method) => {
    if (op === 'exportRecords' || op === 'exportWindows' || op === 'close') return method
    const timed = async (...args: Parameters<typeof method>) => {
      const t0 = performance.now()
      try {
        return await method(...args)
      } finally {
        metrics.storeSeconds.observe((performance.now() - t0) / 1000, { op })
      }
    }
    return timed as unknown as typeof method
  })
}
