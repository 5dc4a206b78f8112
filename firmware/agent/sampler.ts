// Reads the sensor at rateHz and seals the readings into a batch every batchMs. Reading times follow a
// fixed schedule (start + k / rateHz), so timestamps stay regular however late a timer fires; ticks
// the host was too slow to take are skipped and counted, not read late in a burst.
// A sealed batch gets its Idempotency-Key here and keeps it: it is the batch's id in the outbox.
import { type AgentContext, messageOf, refreshOutboxStats } from './context.js'
import { randomId } from './encoding.js'
import type { SealedBatch, Sensor } from './ports.js'

/** What the sampler shares with the app runtime (apps/manager.ts). */
export interface SamplerApps {
  /** Each reading, for the apps' next ticks. */
  reading(values: Record<string, number>): void
  /** What the apps emitted since the last call: recorded into the same batches as readings. */
  takeRecords(): Array<{ ts: number; values: Record<string, number> }>
  /** True while raw readings are not to be recorded (a `replace` app runs). */
  replacesReadings(): boolean
}

export interface SamplerOptions {
  sensor: Sensor
  apps?: SamplerApps
  rateHz: number
  batchMs: number
  /** Seal early at this many readings (default 10,000). */
  maxBatchRecords: number
}

/** Sealed batches kept in memory while the storage refuses them (then the oldest are dropped, counted). */
const MAX_UNSAVED = 16

export async function runSampler(ctx: AgentContext, o: SamplerOptions, signal: AbortSignal): Promise<void> {
  const { clock, stats } = ctx
  const period = 1000 / o.rateHz
  let next = clock.now()
  let sealAt = next + o.batchMs
  let lines: string[] = []
  const unsaved: SealedBatch[] = []

  const seal = async () => {
    if (lines.length > 0) {
      const body = `${lines.join('\n')}\n`
      unsaved.push({ id: randomId(), createdAt: clock.now(), records: lines.length, body })
      lines = []
    }
    while (unsaved.length > 0) {
      const batch = unsaved[0]!
      let dropped: number
      try {
        dropped = await ctx.storage.outbox.append(batch, ctx.outboxLimit)
      } catch (e) {
        ctx.fail('storage_error', `the outbox refused a batch: ${messageOf(e)}`)
        if (unsaved.length > MAX_UNSAVED) {
          unsaved.shift()
          ctx.unsaved.dropped += 1
          stats.dropped += 1
          ctx.emit({ type: 'dropped', count: 1, total: stats.dropped })
        }
        return
      }
      unsaved.shift()
      stats.batchesSealed += 1
      await refreshOutboxStats(ctx)
      ctx.emit({ type: 'sealed', id: batch.id, records: batch.records })
      if (dropped > 0) {
        ctx.emit({ type: 'dropped', count: dropped, total: stats.dropped })
      }
      ctx.sealed.notify()
    }
  }

  /** App records join the batch being filled, as readings do. */
  const takeAppRecords = () => {
    if (!o.apps) return
    for (const record of o.apps.takeRecords()) {
      lines.push(JSON.stringify(recordOf(ctx.session.deviceId, record.ts, record.values)))
      stats.appRecords += 1
    }
  }

  try {
    for (;;) {
      const now = clock.now()
      if (now >= next) {
        const ts = Math.round(next)
        try {
          const values = o.sensor.read(ts)
          o.apps?.reading(values)
          if (o.apps?.replacesReadings()) {
            stats.readingsReplaced += 1
          } else {
            lines.push(JSON.stringify(recordOf(ctx.session.deviceId, ts, values)))
            stats.readings += 1
          }
        } catch (e) {
          stats.sensorErrors += 1
          ctx.fail('sensor_error', `${o.sensor.kind}: ${messageOf(e)}`)
        }
        next += period
        if (next <= now) {
          const missed = Math.floor((now - next) / period) + 1
          stats.missedReadings += missed
          next += missed * period
        }
      }
      takeAppRecords()
      if (now >= sealAt || lines.length >= o.maxBatchRecords) {
        await seal()
        sealAt += o.batchMs
        if (sealAt <= now) sealAt = now + o.batchMs
      }
      await ctx.sleep(Math.max(0, Math.min(next, sealAt) - clock.now()), signal)
    }
  } catch (e) {
    if (!signal.aborted) throw e
  } finally {
    // A clean stop keeps what was read: the last partial batch goes to the outbox too.
    takeAppRecords()
    await seal()
  }
}

/** `{deviceId, ts, ...channels}`; deviceId is left out before enrolment (the server fills it in). */
export function recordOf(
  deviceId: string | null,
  ts: number,
  values: Record<string, number>,
): Record<string, unknown> {
  const record: Record<string, unknown> = deviceId === null ? { ts } : { deviceId, ts }
  for (const [name, value] of Object.entries(values)) {
    if (name !== 'deviceId' && name !== 'ts') record[name] = value
  }
  return record
}
