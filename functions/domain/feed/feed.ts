// The live feed: what happens in the fleet (anomalies, device events) as one sequence of events,
// each with the cursor that resumes right after it. The cursor is a position in BOTH sources (the
// last anomaly id and the last device event id delivered, see store/paging.ts), so resuming from
// any event's cursor gives exactly the events that followed it: nothing skipped, nothing twice.
// Each source comes in commit order; the two are interleaved by when they were stored.
import type { FeedRead, FeedStore } from '../../store/feed-port.js'
import type { Liveness } from '../../store/fleet-port.js'
import { type FeedPosition, feedCursor } from '../../store/paging.js'
import { presentAnomaly, presentDeviceEvent } from '../present.js'

export type FeedEventName = FeedEvent['event']

/** A device event as GET /v1/devices/:id/events lists it, with the device's status when sent. */
export type FeedDeviceData = ReturnType<typeof presentDeviceEvent> & { status: string | null }

/** One event: `id` is the cursor after it; `data` is what GET /v1/anomalies or /v1/devices/:id/events lists. */
export type FeedEvent =
  | { id: string; event: 'anomaly'; data: ReturnType<typeof presentAnomaly> }
  | { id: string; event: 'device'; data: FeedDeviceData }

export interface FeedBatch {
  items: FeedEvent[]
  /** Where the next read starts: after the last item, or where this one started when there were none. */
  next: FeedPosition
  /** Set when the position moved without events (a table emptied by retention restarted its ids). */
  moved: boolean
}

/** The most events one read returns (and the most rows read of each source). */
export const FEED_MAX_BATCH = 1000

export class Feed {
  constructor(
    private readonly store: FeedStore,
    private readonly liveness: () => Liveness,
  ) {}

  /** The position after everything stored so far: a reader from here gets only what comes next. */
  now(): Promise<FeedPosition> {
    return this.store.head()
  }

  /** The position before what was stored at or after `time` (epoch ms). */
  since(time: number): Promise<FeedPosition> {
    return this.store.positionAt(time)
  }

  /** Up to `limit` events after `after` (1 to FEED_MAX_BATCH). */
  async read(after: FeedPosition, limit: number): Promise<FeedBatch> {
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > FEED_MAX_BATCH)
      throw new RangeError(`limit must be 1-${FEED_MAX_BATCH}`)
    const read = await this.store.read(after, limit, this.liveness())
    const moved = read.from.anomaly !== after.anomaly || read.from.event !== after.event
    return { ...merge(read, limit), moved }
  }
}

/** Interleaves the two sources by the time each event was stored, keeping each in id order. */
function merge(read: FeedRead, limit: number): { items: FeedEvent[]; next: FeedPosition } {
  const { anomalies, events } = read
  const position = { ...read.from }
  const items: FeedEvent[] = []
  let i = 0
  let j = 0
  while (items.length < limit && (i < anomalies.length || j < events.length)) {
    const a = anomalies[i]
    const e = events[j]
    if (a && (!e || a.storedAt <= e.event.ts)) {
      position.anomaly = a.anomaly.id
      items.push({ id: feedCursor.encode(position), event: 'anomaly', data: presentAnomaly(a.anomaly) })
      i++
    } else if (e) {
      position.event = e.event.id
      const data = { ...presentDeviceEvent(e.event), status: e.status ?? null }
      items.push({ id: feedCursor.encode(position), event: 'device', data })
      j++
    }
  }
  return { items, next: position }
}
