// From verified bytes to a module a host may run: checked against the app ABI and the release's
// limits (firmware/apps/wasm/validate.ts: imports, exports, memory, size, no start section), then
// metered (firmware/apps/wasm/meter.ts: the exported fuel global every call is charged against).
// Both are pure byte transforms, so a device and a browser get the same module, and so the same fuel
// figures. A module refused here is refused for good: the release is failed with the reason.
import { meter } from '../../apps/wasm/meter.js'
import { validateApp } from '../../apps/wasm/validate.js'
import type { PreparedModule } from './ports.js'
import type { AppRelease } from './release.js'

export class AppRefused extends Error {
  override name = 'AppRefused'
}

/** Metering costs a few ms per module: a fleet in one process (the simulator) does it once per release. */
const CACHE_SIZE = 32
const cache = new Map<string, PreparedModule>()

/** Throws AppRefused. */
export function prepareModule(bytes: Uint8Array, release: AppRelease, maxBytes: number): PreparedModule {
  const memoryPages = release.limits.memoryPages
  const key = `${release.sha256}:${memoryPages}:${maxBytes}`
  const cached = cache.get(key)
  if (cached) {
    cache.delete(key)
    cache.set(key, cached)
    return cached
  }
  const checked = validateApp(bytes, { maxBytes, memoryPages })
  if (!checked.ok) throw new AppRefused(checked.reason)
  let metered: Uint8Array
  try {
    metered = meter(bytes)
  } catch (e) {
    throw new AppRefused(`the module cannot be metered: ${e instanceof Error ? e.message : String(e)}`)
  }
  const { exports, memoryMin, memoryMax } = checked.app
  const prepared: PreparedModule = {
    key: release.sha256,
    bytes: metered,
    memory: { min: memoryMin, max: memoryMax },
    init: exports.includes('init') || exports.includes('_initialize'),
  }
  cache.set(key, prepared)
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!)
  return prepared
}
