// Heartbeats, committed in groups: heartbeats that arrive while a commit is in flight wait and go
// together in the next one, so thousands of devices cost a few transactions a second, not one
// fsync each. A heartbeat from a device that was not connected is also a `connected` event. The
// answer tells the device which apps to run (see domain/apps/device-apps.ts).
import type { Metrics } from '../../observability/metrics.js'
import type { DeviceEventInput, FleetStore, Heartbeat } from '../../store/fleet-port.js'
import type { DesiredApp, DeviceApps } from '../apps/device-apps.js'
import { pause } from '../pause.js'
import type { FleetOptions } from './options.js'

export interface HeartbeatAnswer {
  intervalMs: number
  timeoutMs: number
  serverTime: number
  status: 'connected'
  /** The exact set of apps the device should run. */
  apps: DesiredApp[]
}

interface Waiting {
  beat: Heartbeat
  /** Its `apps` report as sent. */
  apps: unknown
  resolve: (apps: DesiredApp[]) => void
  reject: (e: unknown) => void
}

export class Heartbeats {
  private queue: Waiting[] = []
  private flushing = false

  constructor(
    private readonly store: FleetStore,
    private readonly metrics: Metrics,
    private readonly now: () => number,
    private readonly options: FleetOptions,
    private readonly apps: DeviceApps,
  ) {}

  async beat(deviceId: string, body: Record<string, unknown>): Promise<HeartbeatAnswer> {
    const version = body.agentVersion
    const beat: Heartbeat = {
      deviceId,
      at: this.now(),
      agentVersion: typeof version === 'string' ? version : undefined,
      body: JSON.stringify(body),
    }
    const apps = await new Promise<DesiredApp[]>((resolve, reject) => {
      this.queue.push({ beat, apps: body.apps, resolve, reject })
      if (!this.flushing) void this.flush()
    })
    this.metrics.heartbeats.inc()
    return {
      intervalMs: this.options.heartbeatIntervalMs,
      timeoutMs: this.options.heartbeatTimeoutMs,
      serverTime: this.now(),
      status: 'connected',
      apps,
    }
  }

  private async flush(): Promise<void> {
    this.flushing = true
    // One turn of the event loop first, so that heartbeats arriving together share a commit.
    await pause()
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, 5000)
      try {
        await this.commit(group.map((w) => w.beat))
        const apps = await this.apps.settle(
          group.map((w) => ({ deviceId: w.beat.deviceId, at: w.beat.at, apps: w.apps })),
        )
        for (const w of group) w.resolve(apps.get(w.beat.deviceId) ?? [])
      } catch (e) {
        for (const w of group) w.reject(e)
      }
    }
    this.flushing = false
  }

  /**
   * The newest heartbeat of each device, and a `connected` event for each whose heartbeats start
   * (again): its first one, or the first after a silence, a goodbye or being noted unreachable.
   */
  private async commit(beats: Heartbeat[]): Promise<void> {
    const latest = new Map<string, Heartbeat>()
    for (const b of beats) latest.set(b.deviceId, b)
    const history = await this.store.beatHistory([...latest.keys()])
    const events: DeviceEventInput[] = []
    for (const b of latest.values()) {
      const h = history.get(b.deviceId)
      if (!h) continue
      const last = h.lastHeartbeat
      const resumed =
        last === undefined ||
        b.at - last > this.options.heartbeatTimeoutMs ||
        (h.goodbyeAt ?? Number.NEGATIVE_INFINITY) >= last ||
        (h.unreachableAt ?? Number.NEGATIVE_INFINITY) >= last
      if (resumed) events.push({ deviceId: b.deviceId, ts: b.at, kind: 'connected', detail: undefined })
    }
    await this.store.recordHeartbeats([...latest.values()], events)
  }
}
