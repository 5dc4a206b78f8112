// Fault injection on any sensor, with exact labels. `withFaults(sensor, { deviceId })` wraps a sensor; its
// `inject(fault)` schedules a fault at an absolute time (or "now": just after the last reading) and returns
// the fault's label { deviceId, start, end, kind, sensors }, the ground truth a detector is scored against.
// A label covers [start, end): every reading the fault changes lies inside it.
//
// Single-sensor faults act on one channel's readings, on any sensor:
// - spike: the first reading at or after start is off by a large amount (default 1-2 x max(20 sigma, 10% of
//   the instrument range), towards the side with room). Its label is moved to [t, t + 1) for the reading
//   time t it hit.
// - drift: an offset that grows linearly from 0 to its size (default 1-2 x max(10 sigma, 4% of the range))
//   over the duration; gone at the end (recalibrated).
// - stuck: the channel repeats the last value it gave before start.
// - noise: a burst of extra Gaussian noise, default max(6 sigma, 2 x resolution).
// Faulty values are re-quantised and clamped to the instrument's range, like real readings.
//
// Equipment faults act on a pump through its physics (pump.ts, `condition`), not on its readings, so the
// channels move together. Each grows in over tens of seconds (bearing wear over the whole duration) and
// stops at the end; lagging temperatures then relax over minutes. Effect on each channel at full size (the
// figures: median and range over 40 seeded pumps, last minute of a default-length fault, 09:00 demand):
// - valve (system resistance x2.5, ramp 30 s): flow -31% (-29..-33%); pressure up along the pump curve,
//   +10% (+6..+13%); current down with the power, -8% (-6..-11%); vibration up, further from the best
//   efficiency point, +32% (+20..+40%).
// - cavitation (ramp 20 s): head breaks down 18-30% and fluctuates second to second, suction pressure is
//   lost: flow -18% (-15..-24%), pressure -28% (-23..-35%), both with 5x their measured noise; vibration
//   x5.6 (x5.1..x6.2) and erratic; current -22% (-18..-27%) with the hydraulic power.
// - bearing (wear grows linearly over the duration): vibration to x4.9 (x4.5..x5.2) of its healthy value;
//   bearing temperature rising towards +35 K through its 8-15 minute lag (+22 K, +20..+26 K, after the
//   default 30 minutes); current +6% (friction); flow and pressure untouched.
// - leak (ramp 15 s): a parallel path to drain: flow through the pump (the meter) +34% (+28..+39%),
//   pressure -14% (-8..-17%), current +12% (+6..+20%).
// Not in the labels, because they stay within the channel's normal variation: the temperatures follow the
// power change by tenths of a degree (valve -0.3 K, cavitation -0.4 K, leak +0.5 K), and a leak's run
// beyond the best efficiency point adds about 5% (0..9%) to vibration. faults.test.ts checks that every
// labelled channel moves more than every unlabelled one.
import { smoothstep } from './daily.js'
import { measure, stepsPerUnit } from './measurement.js'
import { Pump, type PumpChannel, type PumpCondition } from './pump.js'
import { between, createRandom, type Random, seedFrom } from './random.js'
import type { ChannelSpec, Reading, Sensor, SensorKind } from './sensor.js'

export const SENSOR_FAULT_KINDS = ['spike', 'drift', 'stuck', 'noise'] as const
export const EQUIPMENT_FAULT_KINDS = ['valve', 'cavitation', 'bearing', 'leak'] as const
export type SensorFaultKind = (typeof SENSOR_FAULT_KINDS)[number]
export type EquipmentFaultKind = (typeof EQUIPMENT_FAULT_KINDS)[number]
export type FaultKind = SensorFaultKind | EquipmentFaultKind
export const FAULT_KINDS: readonly FaultKind[] = [...SENSOR_FAULT_KINDS, ...EQUIPMENT_FAULT_KINDS]

/** Duration when none is given, ms. A spike lasts one reading. */
export const DEFAULT_DURATION_MS: Readonly<Record<FaultKind, number>> = {
  spike: 0,
  drift: 10 * 60_000,
  stuck: 5 * 60_000,
  noise: 2 * 60_000,
  valve: 10 * 60_000,
  cavitation: 5 * 60_000,
  bearing: 30 * 60_000,
  leak: 15 * 60_000,
}

/** The channels each equipment fault moves (its label's `sensors`). */
export const EQUIPMENT_CHANNELS: Readonly<Record<EquipmentFaultKind, readonly PumpChannel[]>> = {
  valve: ['flow', 'pressure', 'current', 'vibration'],
  cavitation: ['flow', 'pressure', 'current', 'vibration'],
  bearing: ['vibration', 'bearingTemp', 'current'],
  leak: ['flow', 'pressure', 'current'],
}

/** Time an equipment fault takes to reach full effect, ms (bearing: its whole duration). */
const RAMP_MS: Readonly<Record<Exclude<EquipmentFaultKind, 'bearing'>, number>> = {
  valve: 30_000,
  cavitation: 20_000,
  leak: 15_000,
}

export interface Fault {
  kind: FaultKind
  /** Single-sensor faults: the channel (default: one picked by the wrapper's seeded stream). Equipment: none. */
  channel?: string
  /** Epoch ms; must be after the last reading. Default: now, 1 ms after the last reading. */
  start?: number
  /** ms, > 0; default DEFAULT_DURATION_MS[kind]. A spike takes none. */
  duration?: number
  /**
   * Single-sensor faults, in channel units: spike offset and total drift (the sign gives the direction;
   * default: a seeded size towards the side with room), noise-burst sigma. Not for stuck.
   * Equipment faults: severity at full effect, in (0, 1], default 1.
   */
  size?: number
}

/** Ground truth for one injected fault: the readings of `sensors` in [start, end) are faulty. */
export interface FaultLabel {
  deviceId: string
  start: number
  end: number
  kind: FaultKind
  sensors: string[]
}

export interface FaultySensor extends Sensor {
  readonly deviceId: string
  /** The wrapped sensor. */
  readonly sensor: Sensor
  /** Schedules a fault and returns its label (a copy; a spike's label moves when it fires, see labels()). */
  inject(fault: Fault): FaultLabel
  /** Throws the FaultError that inject would throw, without scheduling anything. */
  check(fault: Fault): void
  /** Labels of every fault injected so far, in injection order (copies). */
  labels(): FaultLabel[]
  /** The wrapped sensor's channel specs (unknown ones: no noise, no resolution, an unbounded range). */
  describe(): Record<string, ChannelSpec>
}

export interface FaultOptions {
  deviceId: string
  /** Seeds fault sizes, directions and picked channels, with the device id (default 0). */
  seed?: number
}

export class FaultError extends Error {
  override name = 'FaultError'
}

export function withFaults(sensor: Sensor, options: FaultOptions): FaultySensor {
  return new Faulty(sensor, options.deviceId, createRandom(seedFrom(options.deviceId, options.seed ?? 0)))
}

export function isEquipmentFault(kind: FaultKind): kind is EquipmentFaultKind {
  return (EQUIPMENT_FAULT_KINDS as readonly string[]).includes(kind)
}

export function isFaultKind(kind: string): kind is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(kind)
}

/** A fault as scheduled: its label plus what is needed to apply it. */
interface Scheduled {
  label: FaultLabel
  kind: FaultKind
  equipment: boolean
  channel: string
  /** Signed size (spike, drift), sigma (noise), severity (equipment); NaN: decide at the first reading. */
  size: number
  /** Stuck: the value held. */
  held: number
  fired: boolean
}

const NO_CONDITION: PumpCondition = { valve: 0, cavitation: 0, bearing: 0, leak: 0 }

class Faulty implements FaultySensor {
  readonly kind: SensorKind
  private readonly specs: Record<string, ChannelSpec>
  private readonly steps: Record<string, number>
  private readonly names: string[]
  private readonly scheduled: Scheduled[] = []
  /** Scheduled faults that may still act, for cheap reads. */
  private pending: Scheduled[] = []
  /** The last reading's values, by channel index (NaN before the first). */
  private readonly last: Float64Array
  private lastTime = Number.NaN
  /** The wrapped sensor when it is a pump (equipment faults act on its condition). */
  private readonly pump: Pump | undefined
  /** Whether the pump's condition may be non-zero (so it must be reset even with no fault pending). */
  private conditionSet = false

  constructor(
    readonly sensor: Sensor,
    readonly deviceId: string,
    private readonly random: Random,
  ) {
    this.kind = sensor.kind
    this.pump = sensor instanceof Pump ? sensor : undefined
    this.names = sensor.channels()
    this.last = new Float64Array(this.names.length).fill(Number.NaN)
    const described = sensor.describe?.() ?? {}
    this.specs = {}
    this.steps = {}
    for (const c of this.names) {
      const spec = described[c] ?? { unit: '', sigma: 0, resolution: 0, min: -Infinity, max: Infinity }
      this.specs[c] = spec
      this.steps[c] = stepsPerUnit(spec.resolution)
    }
  }

  channels(): string[] {
    return [...this.names]
  }

  describe(): Record<string, ChannelSpec> {
    const out: Record<string, ChannelSpec> = {}
    for (const c of this.names) out[c] = { ...this.specs[c]! }
    return out
  }

  labels(): FaultLabel[] {
    return this.scheduled.map((s) => copyLabel(s.label))
  }

  check(fault: Fault): void {
    this.validate(fault)
  }

  inject(fault: Fault): FaultLabel {
    const { start, end } = this.validate(fault)
    const kind = fault.kind
    const channel = isEquipmentFault(kind)
      ? ''
      : (fault.channel ?? this.names[Math.floor(this.random.next() * this.names.length)]!)
    const sensors = isEquipmentFault(kind) ? [...EQUIPMENT_CHANNELS[kind]] : [channel]
    const size = fault.size ?? this.defaultSize(kind, channel)
    const s: Scheduled = {
      label: { deviceId: this.deviceId, start, end, kind, sensors },
      kind,
      equipment: isEquipmentFault(kind),
      channel,
      size,
      held: Number.NaN,
      fired: false,
    }
    this.scheduled.push(s)
    this.pending.push(s)
    return copyLabel(s.label)
  }

  read(tMs: number): Reading {
    if (this.pump && (this.pending.length > 0 || this.conditionSet)) this.setCondition(this.pump, tMs)
    const reading = this.sensor.read(tMs)
    this.lastTime = tMs
    if (this.pending.length > 0) this.applySensorFaults(reading, tMs)
    // What a stuck channel will hold: kept apart, so a caller changing the reading changes nothing here.
    const last = this.last
    for (let i = 0; i < last.length; i++) last[i] = reading[this.names[i]!]!
    return reading
  }

  private setCondition(pump: Pump, t: number): void {
    const c = pump.condition
    Object.assign(c, NO_CONDITION)
    this.conditionSet = false
    for (const s of this.pending) {
      if (!s.equipment || t < s.label.start || t >= s.label.end) continue
      const kind = s.kind as EquipmentFaultKind
      const into = t - s.label.start
      const grown =
        kind === 'bearing' ? into / (s.label.end - s.label.start) : smoothstep(into / RAMP_MS[kind])
      c[kind] = Math.max(c[kind], grown * s.size)
      this.conditionSet = true
    }
  }

  private applySensorFaults(reading: Reading, t: number): void {
    let done = false
    for (const s of this.pending) {
      const { start, end } = s.label
      if (t >= end && s.kind !== 'spike') {
        done = true
        continue
      }
      if (t < start || s.equipment) continue
      const c = s.channel
      const spec = this.specs[c]!
      const value = reading[c]!
      switch (s.kind) {
        case 'spike': {
          if (Number.isNaN(s.size)) s.size = this.towardsRoom(this.spikeSize(spec), value, spec)
          reading[c] = this.quantise(value + s.size, c)
          s.fired = true
          s.label.start = t
          s.label.end = t + 1
          done = true
          break
        }
        case 'drift': {
          if (Number.isNaN(s.size)) s.size = this.towardsRoom(this.driftSize(spec), value, spec)
          reading[c] = this.quantise(value + (s.size * (t - start)) / (end - start), c)
          break
        }
        case 'noise':
          reading[c] = this.quantise(value + s.size * this.random.gaussian(), c)
          break
        case 'stuck':
          if (Number.isNaN(s.held)) {
            const before = this.last[this.names.indexOf(c)]!
            s.held = Number.isNaN(before) ? value : before
          }
          reading[c] = s.held
          break
      }
    }
    if (done) this.pending = this.pending.filter((s) => !s.fired && !(s.kind !== 'spike' && t >= s.label.end))
  }

  /** The start and end a fault would get; throws FaultError if it cannot be injected. */
  private validate(fault: Fault): { start: number; end: number } {
    const who = this.deviceId
    const kind = fault?.kind
    if (!isFaultKind(kind)) {
      throw new FaultError(`${who}: unknown fault kind "${String(kind)}" (kinds: ${FAULT_KINDS.join(', ')})`)
    }
    if (isEquipmentFault(kind)) {
      if (!(this.sensor instanceof Pump)) {
        throw new FaultError(`${who}: ${kind} is a pump fault, and this is not a pump (kind: ${this.kind})`)
      }
      if (fault.channel !== undefined) {
        throw new FaultError(
          `${who}: ${kind} moves several channels through the pump's physics and takes no channel`,
        )
      }
      if (fault.size !== undefined && !(fault.size > 0 && fault.size <= 1)) {
        throw new FaultError(`${who}: ${kind} size is a severity in (0, 1], got ${fault.size}`)
      }
    } else {
      if (fault.channel !== undefined && !this.names.includes(fault.channel)) {
        throw new FaultError(`${who} has no channel "${fault.channel}" (channels: ${this.names.join(', ')})`)
      }
      if (fault.size !== undefined) {
        if (kind === 'stuck') throw new FaultError(`${who}: stuck repeats the last value and takes no size`)
        if (!Number.isFinite(fault.size) || fault.size === 0 || (kind === 'noise' && fault.size < 0)) {
          throw new FaultError(
            `${who}: ${kind} size must be a finite non-zero number${kind === 'noise' ? ' above 0' : ''}, got ${fault.size}`,
          )
        }
      }
    }
    let start = fault.start
    if (start === undefined) {
      if (Number.isNaN(this.lastTime)) {
        throw new FaultError(`${who}: a fault needs a start time before the sensor's first reading`)
      }
      start = this.lastTime + 1
    } else if (!Number.isFinite(start)) {
      throw new FaultError(`${who}: fault start must be a finite epoch ms, got ${start}`)
    } else if (start <= this.lastTime) {
      throw new FaultError(
        `${who}: a fault starting at ${start} is not after the last reading (${this.lastTime}); readings already made cannot change`,
      )
    }
    if (kind === 'spike') {
      if (fault.duration !== undefined)
        throw new FaultError(`${who}: a spike hits one reading and takes no duration`)
      return { start, end: start + 1 }
    }
    const duration = fault.duration ?? DEFAULT_DURATION_MS[kind]
    if (!Number.isFinite(duration) || duration <= 0) {
      throw new FaultError(`${who}: fault duration must be a positive number of ms, got ${duration}`)
    }
    return { start, end: start + duration }
  }

  /** NaN for spike and drift: their size and direction are settled at the first reading they touch. */
  private defaultSize(kind: FaultKind, channel: string): number {
    if (isEquipmentFault(kind)) return 1
    if (kind !== 'noise') return Number.NaN
    const spec = this.specs[channel]!
    return Math.max(6 * spec.sigma, 2 * spec.resolution, 1e-9)
  }

  private spikeSize(spec: ChannelSpec): number {
    return between(this.random, 1, 2) * Math.max(20 * spec.sigma, 0.1 * span(spec), 10 * spec.resolution)
  }

  private driftSize(spec: ChannelSpec): number {
    return between(this.random, 1, 2) * Math.max(10 * spec.sigma, 0.04 * span(spec), 5 * spec.resolution)
  }

  /** +size or -size: a random side, or the other one when it has more room in the instrument's range. */
  private towardsRoom(size: number, value: number, spec: ChannelSpec): number {
    const up = this.random.next() < 0.5
    const roomUp = spec.max - value
    const roomDown = value - spec.min
    if (up ? roomUp < size && roomDown > roomUp : roomDown < size && roomUp > roomDown)
      return up ? -size : size
    return up ? size : -size
  }

  private quantise(value: number, channel: string): number {
    return measure(value, 0, 0, this.steps[channel]!, this.specs[channel]!)
  }
}

/** Width of the instrument's range, or a magnitude-free stand-in (1) when the range is unknown. */
function span(spec: ChannelSpec): number {
  const w = spec.max - spec.min
  return Number.isFinite(w) && w > 0 ? w : 1
}

function copyLabel(l: FaultLabel): FaultLabel {
  return { ...l, sensors: [...l.sensors] }
}
