// A clock for tests: time moves only when the test moves it. Timers fire in order; between two
// timers the test lets real pending work (WebCrypto, promise chains) run for a macrotask, so that code
// under test reaches its next sleep before time jumps again.
import type { Clock } from '../ports.js'

interface Timer {
  at: number
  seq: number
  resolve: () => void
}

export interface FakeClock extends Clock {
  /** Every sleep asked for, in order: [ms asked, time asked]. */
  readonly sleeps: Array<{ ms: number; at: number }>
  /** Timers waiting. */
  pending(): number
  /** Fires the earliest timer, moving time to it; false when no timer waits. */
  step(): boolean
  /** Moves time forward by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): Promise<void>
  /**
   * Fires timers one by one until `done()` holds; throws when it has not after `maxMs` of fake time
   * or `realMs` of real time.
   */
  runUntil(
    done: () => boolean | Promise<boolean>,
    limits?: { maxMs?: number; realMs?: number },
  ): Promise<void>
  /**
   * Time does not move while `busy()` holds: for real work the test can see (file I/O), so that fake time
   * does not run ahead of it. Without it, time only waits one macrotask for real work.
   */
  holdWhile(busy: () => boolean): void
}

/** One macrotask: lets promise chains and finished host work (a WebCrypto signature) go on. */
export const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))

export function fakeClock(start = Date.UTC(2026, 10, 23, 10, 0, 0)): FakeClock {
  let now = start
  let seq = 0
  let timers: Timer[] = []
  const sleeps: Array<{ ms: number; at: number }> = []
  const holds: Array<() => boolean> = []
  /** One macrotask, then more while a hold says real work is under way (at most 5 s). */
  const settle = async () => {
    await tick()
    const end = Date.now() + 5_000
    while (holds.some((busy) => busy()) && Date.now() < end) await tick()
  }

  const step = (): boolean => {
    if (timers.length === 0) return false
    let first = 0
    for (let i = 1; i < timers.length; i++) {
      const t = timers[i]!
      const f = timers[first]!
      if (t.at < f.at || (t.at === f.at && t.seq < f.seq)) first = i
    }
    const timer = timers[first]!
    timers.splice(first, 1)
    now = Math.max(now, timer.at)
    timer.resolve()
    return true
  }

  return {
    sleeps,
    now: () => now,
    sleep(ms, signal) {
      sleeps.push({ ms, at: now })
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason)
        const timer: Timer = {
          at: now + Math.max(0, ms),
          seq: seq++,
          resolve: () => {
            signal?.removeEventListener('abort', onAbort)
            resolve()
          },
        }
        const onAbort = () => {
          timers = timers.filter((t) => t !== timer)
          reject(signal!.reason)
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        timers.push(timer)
      })
    },
    pending: () => timers.length,
    holdWhile: (busy) => {
      holds.push(busy)
    },
    step,
    async advance(ms) {
      const target = now + ms
      await settle()
      for (;;) {
        const due = timers.filter((t) => t.at <= target)
        if (due.length === 0) break
        step()
        await settle()
      }
      now = Math.max(now, target)
      await settle()
    },
    async runUntil(done, limits = {}) {
      const fakeLimit = now + (limits.maxMs ?? 3_600_000)
      const realLimit = Date.now() + (limits.realMs ?? 10_000)
      for (;;) {
        await settle()
        if (await done()) return
        if (Date.now() > realLimit)
          throw new Error(`runUntil: not done after ${limits.realMs ?? 10_000} ms of real time`)
        if (timers.length === 0) continue // waiting for real work only
        const next = Math.min(...timers.map((t) => t.at))
        if (next > fakeLimit)
          throw new Error(`runUntil: not done after ${limits.maxMs ?? 3_600_000} ms of fake time`)
        step()
      }
    },
  }
}
