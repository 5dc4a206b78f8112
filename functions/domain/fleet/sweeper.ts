// Going silent, noticed: where a runtime can run timers (Node, a Durable Object's alarm), devices
// silent past the heartbeat timeout become an `unreachable` event and a `device_unreachable`
// anomaly, once per silence. Status itself is derived when read, so it is right without this.
import type { Metrics } from '../../observability/metrics.js'
import type { FleetStore } from '../../store/fleet-port.js'

const PER_ROUND = 1000

/** Notes every device gone silent; returns how many. */
export async function sweepUnreachable(
  store: FleetStore,
  metrics: Metrics,
  now: number,
  timeoutMs: number,
): Promise<number> {
  let noted = 0
  for (;;) {
    const silent = await store.sweepUnreachable({ now, timeoutMs }, PER_ROUND)
    noted += silent.length
    if (silent.length > 0) metrics.anomalies.inc({ kind: 'device_unreachable' }, silent.length)
    if (silent.length < PER_ROUND) return noted
  }
}

/** How often to sweep: often enough to note a silence soon after the timeout, at most every 10 s. */
export function sweepEveryMs(timeoutMs: number): number {
  return Math.min(10_000, Math.max(1000, Math.floor(timeoutMs / 3)))
}
