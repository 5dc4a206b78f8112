// The good stream's ledger: which batch was sent and acknowledged, and what the export says was stored.
// Each good connection writes its own devices, one record per device every STEP ms, so a stored
// record's device and ts name the batch it came from: an acknowledged batch must be stored whole and
// once; an unacknowledged one (timed out, reset) may be stored whole (the server committed after the
// client gave up) or not at all, never in part.
import { goodBatch } from './bodies.js'

export interface LedgerSummary {
  /** Records of acknowledged batches that the export does not hold: lost. */
  acknowledgedMissing: number
  /** Records of unacknowledged batches that the export holds: committed after the client gave up. */
  unacknowledgedStored: number
  /** Records stored more than once (same device and ts). */
  duplicates: number
  /** Batches stored in part. */
  partialBatches: number
  /** Export lines of good devices that no sent batch holds. */
  unexpected: number
}

interface Connection {
  devices: string[]
  ts0: number
  /** Per batch sent: acknowledged or not (undefined while in flight). */
  acked: (boolean | undefined)[]
  /** Per device: how often each record (by its index since ts0) was exported. */
  seen: Map<string, Uint16Array>
}

export class GoodLedger {
  private readonly connections: Connection[]
  private readonly byDevice = new Map<string, Connection>()
  private unexpectedLines = 0

  constructor(
    count: number,
    private readonly perDevice: number,
    private readonly stepMs: number,
    ts0: number,
  ) {
    this.connections = Array.from({ length: count }, (_, w) => ({
      devices: [`good-${w}-a`, `good-${w}-b`],
      ts0,
      acked: [],
      seen: new Map(),
    }))
    for (const c of this.connections) for (const d of c.devices) this.byDevice.set(d, c)
  }

  isGood(deviceId: string): boolean {
    return this.byDevice.has(deviceId)
  }

  get goodDevices(): string[] {
    return [...this.byDevice.keys()]
  }

  /** The next batch of connection `w`: its body, its index and how many records it holds. */
  next(w: number): { body: Buffer; index: number; records: number } {
    const c = this.connections[w]!
    const index = c.acked.length
    c.acked.push(undefined)
    const start = c.ts0 + index * this.perDevice * this.stepMs
    const body = goodBatch(c.devices, this.perDevice, start, this.stepMs)
    return { body, index, records: this.perDevice * c.devices.length }
  }

  settle(w: number, index: number, acked: boolean): void {
    this.connections[w]!.acked[index] = acked
  }

  /** One record line of GET /v1/export. */
  exported(r: { deviceId?: unknown; ts?: unknown }): void {
    const c = typeof r.deviceId === 'string' ? this.byDevice.get(r.deviceId) : undefined
    const i = c ? (Date.parse(String(r.ts)) - c.ts0) / this.stepMs : -1
    const sent = c ? c.acked.length * this.perDevice : 0
    if (!c || !Number.isInteger(i) || i < 0 || i >= sent) {
      this.unexpectedLines++
      return
    }
    const seen = c.seen.get(r.deviceId as string) ?? new Uint16Array(sent)
    c.seen.set(r.deviceId as string, seen)
    seen[i]!++
  }

  summary(): LedgerSummary {
    const s: LedgerSummary = {
      acknowledgedMissing: 0,
      unacknowledgedStored: 0,
      duplicates: 0,
      partialBatches: 0,
      unexpected: this.unexpectedLines,
    }
    for (const c of this.connections) {
      c.acked.forEach((acked, b) => {
        let stored = 0
        for (const d of c.devices) {
          const seen = c.seen.get(d)
          for (let i = b * this.perDevice; i < (b + 1) * this.perDevice; i++) {
            const n = seen?.[i] ?? 0
            if (n > 0) stored++
            if (n > 1) s.duplicates += n - 1
          }
        }
        const records = this.perDevice * c.devices.length
        if (stored > 0 && stored < records) s.partialBatches++
        if (acked) s.acknowledgedMissing += records - stored
        else s.unacknowledgedStored += stored
      })
    }
    return s
  }
}
