// The storage port of the live feed (GET /v1/stream and /v1/stream/poll): what happens in the fleet,
// read forwards from a position. Two sources, anomalies and device events; each table takes
// increasing ids in commit order, so a position (the last id delivered of each) says exactly what
// is still to come. See store/paging.ts for the cursor that carries a position.
import type { DeviceEvent, DeviceStatus, StoredAnomaly } from '../domain/types.js'
import type { Liveness } from './fleet-port.js'
import type { FeedPosition } from './paging.js'

/** An anomaly as the feed sends it, with when it was stored (epoch ms). */
export interface FeedAnomaly {
  anomaly: StoredAnomaly
  storedAt: number
}

/** A device event with the device's status now (undefined when the device is gone). */
export interface FeedDeviceEvent {
  event: DeviceEvent
  status: DeviceStatus | undefined
}

export interface FeedRead {
  /** The position actually read after: `after`, or 0 for a source whose table was emptied since. */
  from: FeedPosition
  /** At most `limit` of each, in id order. */
  anomalies: FeedAnomaly[]
  events: FeedDeviceEvent[]
}

export interface FeedStore {
  /** The position after everything stored now. */
  head(): Promise<FeedPosition>
  /** The position just before what was stored at or after `time` (epoch ms). */
  positionAt(time: number): Promise<FeedPosition>
  /**
   * Up to `limit` anomalies and up to `limit` device events stored after `after`, each in id order.
   * Ids restart at 1 when retention empties a table; a position past a table's newest id means
   * that happened, and that source is read from its start again (see FeedRead.from).
   */
  read(after: FeedPosition, limit: number, liveness: Liveness): Promise<FeedRead>
}
