// When a real sensor's readings arrive: roughly every period, never exactly (clock jitter), some never
// (a lost packet), and sometimes none for a while (a dropout: the link or the device was down). The
// quality generators draw their sample times here first and build the signal on those times, so a
// daily cycle or a drift follows the clock, not the sample count.
import type { Random } from '../../firmware/sensors/random.js'

export interface TimelineOptions {
  /** Nominal sample slots (before losses). */
  slots: number
  /** Nominal spacing, ms. */
  stepMs: number
  /** First slot's time, epoch ms. */
  startMs: number
  /** Each time is moved by up to ± jitter/2 of a step (< 1 keeps times strictly increasing). */
  jitter: number
  /** Chance that a slot's reading is lost on its own. */
  missing: number
  /** Dropouts: how many, and their length in slots (uniform in [min, max]). */
  dropouts: number
  dropoutSlots: [number, number]
  /** Slots at the start where nothing is lost (a detector's warm-up or a device's baseline). */
  keepFirst: number
}

/** The times at which readings arrive, strictly increasing. */
export function sampleTimes(random: Random, o: TimelineOptions): Float64Array {
  if (!(o.jitter >= 0 && o.jitter < 1)) throw new RangeError(`jitter must be in [0, 1), got ${o.jitter}`)
  const lost = new Uint8Array(o.slots)
  for (let d = 0; d < o.dropouts; d++) {
    const length = o.dropoutSlots[0] + Math.floor(random.next() * (o.dropoutSlots[1] - o.dropoutSlots[0] + 1))
    const from = o.keepFirst + Math.floor(random.next() * Math.max(1, o.slots - o.keepFirst - length))
    lost.fill(1, from, Math.min(o.slots, from + length))
  }
  const times: number[] = []
  for (let i = 0; i < o.slots; i++) {
    const shift = (random.next() - 0.5) * o.jitter * o.stepMs
    const dropped = i >= o.keepFirst && (lost[i] === 1 || random.next() < o.missing)
    if (!dropped) times.push(Math.round(o.startMs + i * o.stepMs + shift))
  }
  return Float64Array.from(times)
}
