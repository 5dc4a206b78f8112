// Hot series state in memory, for the ingest path of a long-lived process (Node, a Durable Object):
// the states this process committed, at the version it stored, the least recently used leaving
// first. Only the ingest path reads it; other routes read the store, so another process's commits
// are never hidden from them. A cached state that another writer moved on makes the next commit
// conflict, and the ingest path forgets it and reads the store again.
import { seriesKey } from '../store/port.js'
import type { SeriesState } from './types.js'

export class SeriesCache {
  private readonly states = new Map<string, SeriesState>()

  constructor(private readonly maxSeries: number) {}

  get(deviceId: string, metric: string): SeriesState | undefined {
    return this.states.get(seriesKey(deviceId, metric))
  }

  /** After a commit: the states it stored, each now at version + 1. */
  committed(states: SeriesState[]): void {
    for (const s of states) {
      const key = seriesKey(s.deviceId, s.metric)
      this.states.delete(key)
      this.states.set(key, { ...s, version: s.version + 1 })
      if (this.states.size > this.maxSeries) this.states.delete(this.states.keys().next().value!)
    }
  }

  forget(states: { deviceId: string; metric: string }[]): void {
    for (const s of states) this.states.delete(seriesKey(s.deviceId, s.metric))
  }
}
