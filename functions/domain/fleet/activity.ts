// "Records and anomalies in the last hour" per device, for the fleet list. Counted when stored, per
// device and minute of arrival (the activity table), so the list reads at most 60 small rows per
// device of its page from a primary key, whatever the fleet's size; counting records instead would
// scan the last hour of every device's records (they are indexed by ts only).
import type { DeviceActivity, FleetStore } from '../../store/fleet-port.js'
import { minuteOf } from '../../store/sql.js'

/** Minutes counted: the current one and the 59 before it. */
export const ACTIVITY_MINUTES = 60

/** The first minute counted as "the last hour" at `now`. */
export function lastHourSince(now: number): number {
  return minuteOf(now) - (ACTIVITY_MINUTES - 1) * 60_000
}

const NONE: DeviceActivity = { records: 0, anomalies: 0 }

/** Each device's last hour, zeros for a device that sent nothing in it. */
export async function lastHour(
  store: FleetStore,
  deviceIds: string[],
  now: number,
): Promise<(id: string) => DeviceActivity> {
  const found = await store.activity(deviceIds, lastHourSince(now))
  return (id) => found.get(id) ?? NONE
}
