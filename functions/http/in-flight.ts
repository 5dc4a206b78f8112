// A bound on what is being worked on at once (bytes of request bodies being read and parsed): past
// it, new work is refused at once (503 overloaded) instead of piling up until memory runs out. One
// piece of work is always let in, however large, so a lone large request is never starved.
export class InFlight {
  private used = 0

  constructor(readonly limit: number) {}

  /** Reserves `n`; false when that would pass the bound while other work is in flight. */
  take(n: number): boolean {
    if (this.used > 0 && this.used + n > this.limit) return false
    this.used += n
    return true
  }

  give(n: number): void {
    this.used -= n
  }

  /** Changes a reservation from `from` to `to` without a check (work that is let in finishes). */
  resize(from: number, to: number): void {
    this.used += to - from
  }

  get current(): number {
    return this.used
  }
}
