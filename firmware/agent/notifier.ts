// A wake-up flag for a loop that waits for work: notify() before wait() is not lost.

export class Notifier {
  private pending = false
  private waiters: Array<() => void> = []

  notify(): void {
    this.pending = true
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }

  /** Resolves at the next notify (at once if one came since the last wait); rejects on abort. */
  wait(signal: AbortSignal): Promise<void> {
    if (this.pending) {
      this.pending = false
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason)
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== wake)
        reject(signal.reason)
      }
      const wake = () => {
        this.pending = false
        signal.removeEventListener('abort', onAbort)
        resolve()
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.waiters.push(wake)
    })
  }
}
