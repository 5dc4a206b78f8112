// An app host on the caller's own thread: the runner, called directly. It holds memory and fuel as
// every host does, but it has no wall-clock watchdog (nothing can interrupt a call on the thread that
// runs it), so wallMs is not enforced: fuel is the only bound on a call. For tests, and for hosts
// without threads; a device uses a host with workers (firmware/node/app-host.ts).
import type { AppHost, AppInstance } from './ports.js'
import { AppStartError } from './ports.js'
import { createRunner, DEFAULT_RUNNER_BOUNDS, type RunnerBounds } from './runner.js'

export interface InlineAppHost extends AppHost {
  /** Instances alive. */
  size(): number
}

export function inlineAppHost(bounds: RunnerBounds = DEFAULT_RUNNER_BOUNDS): InlineAppHost {
  const runner = createRunner(bounds)
  const users = new Map<string, number>()
  let nextId = 1
  return {
    async start(spec) {
      const { module } = spec
      const error = runner.load(module.key, module.bytes)
      if (error !== null) throw new AppStartError('link', `the module does not compile: ${error}`, true)
      const id = nextId++
      const started = runner.start({
        id,
        key: module.key,
        memoryMin: module.memory.min,
        memoryMax: spec.memoryPages,
        channels: spec.channels,
      })
      if (!started.ok) {
        if ((users.get(module.key) ?? 0) === 0) runner.unload(module.key)
        throw new AppStartError(started.kind, started.message, started.permanent)
      }
      users.set(module.key, (users.get(module.key) ?? 0) + 1)
      let alive = true
      const instance: AppInstance = {
        async call(entry, input) {
          return runner.call({
            id: alive ? id : -1,
            entry,
            fuel: input.fuel,
            nowMs: input.nowMs,
            values: input.values,
          })
        },
        stop() {
          if (!alive) return
          alive = false
          runner.stop(id)
          const left = (users.get(module.key) ?? 1) - 1
          users.set(module.key, left)
          if (left === 0) {
            users.delete(module.key)
            runner.unload(module.key)
          }
        },
      }
      return instance
    },
    size: () => runner.size(),
  }
}
