// The sensor port: what the device agent reads its measurements from. A sensor is a stateful instrument
// read at simulated (or real) epoch milliseconds, in time order, one value per channel per reading. The
// simulated sensors here (pump, environment) and any real driver later implement this; the agent needs
// nothing else. Plain TypeScript, no runtime-specific import: it runs in Node and in a browser worker.

export type SensorKind = 'pump' | 'environment'

/** One reading: a value for every channel, keyed by channel (metric) name. */
export type Reading = Record<string, number>

/** What a channel measures and how well: the instrument's unit, noise, resolution and output range. */
export interface ChannelSpec {
  unit: string
  /** Standard deviation of the measurement noise in normal operation, in `unit`. */
  sigma: number
  /** Quantisation step of the output (0: none). Readings are multiples of it. */
  resolution: number
  /** Output range of the instrument: readings are clamped to [min, max]. */
  min: number
  max: number
}

export interface Sensor {
  readonly kind: SensorKind
  /** Metric names, the keys of every reading, in a fixed order. */
  channels(): string[]
  /**
   * One reading of every channel at time `tMs` (epoch ms). Times must not decrease: the sensor keeps its own
   * state (random walks, thermal lags, faults in progress) and advances it to `tMs`; an earlier time throws
   * a TimeOrderError. Reading twice at the same time is allowed and gives a fresh measurement.
   */
  read(tMs: number): Reading
  /** Units, noise and ranges per channel, when the sensor knows them (all simulated sensors do). */
  describe?(): Record<string, ChannelSpec>
}

export class TimeOrderError extends RangeError {
  override name = 'TimeOrderError'
}

/** A sensor's own clock: checks each reading time and gives the simulated time since the previous one. */
export class ReadClock {
  /** Time of the last reading, or NaN before the first. */
  last = Number.NaN

  /** Accepts `tMs` as the next reading time and returns the ms elapsed since the last one (0 for the first). */
  advance(tMs: number): number {
    if (typeof tMs !== 'number' || !Number.isFinite(tMs)) {
      throw new TimeOrderError(`reading time must be a finite number of epoch ms, got ${String(tMs)}`)
    }
    const last = this.last
    if (tMs < last) {
      throw new TimeOrderError(`readings must be in time order: ${tMs} is before the last reading at ${last}`)
    }
    this.last = tMs
    return Number.isNaN(last) ? 0 : tMs - last
  }
}
