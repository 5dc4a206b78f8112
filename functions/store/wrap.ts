// Decorating a store method by method (timing, caching) without listing the methods twice.
import type { Store } from './port.js'

/** Every method of the Store (the fleet's, the apps' and the feed's are carried over as they are). */
export const STORE_METHODS = [
  'loadStates',
  'findIdempotent',
  'commitIngest',
  'listAnomalies',
  'listDevices',
  'getDevice',
  'recentRecords',
  'recentWindows',
  'exportRecords',
  'exportWindows',
  'listDeadLetters',
  'purge',
  'ping',
  'close',
] as const satisfies readonly Exclude<keyof Store, 'fleet' | 'apps' | 'feed'>[]

type AnyMethod = (...args: never[]) => unknown

/** A store whose every method is `wrap(name, method bound to store)`. */
export function wrapStore(store: Store, wrap: <F extends AnyMethod>(op: keyof Store, method: F) => F): Store {
  const out: Partial<Record<keyof Store, AnyMethod>> = {}
  for (const op of STORE_METHODS) out[op] = wrap(op, (store[op] as AnyMethod).bind(store))
  return {
    ...(out as Omit<Store, 'fleet' | 'apps' | 'feed'>),
    fleet: store.fleet,
    apps: store.apps,
    feed: store.feed,
  }
}
