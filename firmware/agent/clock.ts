// The real clock: Date.now and setTimeout, which every JS host has.
import type { Clock } from './ports.js'

/** setTimeout's largest delay; longer sleeps are chained. */
const MAX_TIMER_MS = 2_147_483_647

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason)
      const end = Date.now() + Math.max(0, ms)
      let timer: ReturnType<typeof setTimeout>
      const onAbort = () => {
        clearTimeout(timer)
        reject(signal!.reason)
      }
      const arm = () => {
        const left = end - Date.now()
        if (left <= 0) {
          signal?.removeEventListener('abort', onAbort)
          resolve()
          return
        }
        timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      timer = setTimeout(arm, Math.min(Math.max(0, ms), MAX_TIMER_MS))
    }),
}
