// A simulated centrifugal pump with its physics, as a Sensor: flow, discharge pressure, motor current,
// vibration, bearing and fluid temperature, all derived from one operating point, so the channels move
// together the way a real pump's do (and equipment faults, set through `condition`, move them the same way).
//
// The model, per reading at time t (UTC):
// - Demand: a daily profile (low at night, peaks near 08:00 and 19:00, see daily.ts) times a slow wander
//   (tau 20 min) and a fast flicker (tau 5 s). Demand sets the system curve H = Hs + r*Q^2 through the valve
//   and consumers: r = rDesign / demand^2, so the system admits more flow when demand is high.
// - Pump curve, by the affinity laws at running speed s (fraction of design speed): H = H0*s^2 - k*Q^2,
//   best efficiency point (BEP) at Qbep = Qr*s, Hr*s^2. The operating point is where the curves meet:
//   Q^2 = (H0*s^2 - Hs) / (k + r) (a leak adds a parallel path, solved by bisection).
// - Power: hydraulic P = rho*g*Q*H; efficiency eta = etaMax*x*(2-x) with x = Q/Qbep (peak at the BEP); shaft
//   power P/eta; motor current from the active current P/(eta_motor*sqrt(3)*400 V) and a constant
//   magnetising part. In normal operation current rises with flow.
// - Vibration: a base RMS that grows away from the BEP, faster at part load (recirculation) than beyond it,
//   with a slow wander.
// - Bearing temperature: ambient + a speed term (15 K at design speed) + a load term (6 K at rated power),
//   through a first-order lag of 8-15 minutes.
// - Fluid temperature: the supply water, pulled slowly (tau 1 h) towards the ambient, plus the pump's
//   losses heating the water that passes (noticeable only near shut-off).
// - Ambient: a daily cycle peaking at 15:00 plus weather (tau 8 h).
// Every parameter comes from the seed, so 10,000 pumps all differ. Measurement noise, resolution and range
// per channel are in `describe()`.
import { dailyCycle, demand, hourOfDay } from './daily.js'
import { Lag, Walk } from './dynamics.js'
import { measure, stepsPerUnit } from './measurement.js'
import { between, createRandom, type Random } from './random.js'
import { type ChannelSpec, ReadClock, type Reading, type Sensor } from './sensor.js'

export const PUMP_CHANNELS = ['flow', 'pressure', 'current', 'vibration', 'bearingTemp', 'fluidTemp'] as const
export type PumpChannel = (typeof PUMP_CHANNELS)[number]

/** One pump's fixed design, drawn from its seed. */
export interface PumpParams {
  /** Flow at the BEP at design speed, m³/h. */
  ratedFlow: number
  /** Head at the BEP at design speed, m. */
  ratedHead: number
  /** Head at zero flow at design speed, m. */
  shutoffHead: number
  /** Nominal motor speed, rpm (1450 or 2900). */
  speedRpm: number
  /** Running speed as a fraction of design speed (impeller trim or drive setting), 0.88-1. */
  speedRatio: number
  /** Static lift of the system, m. */
  staticHead: number
  /** Suction pressure, bar (gauge). */
  suctionPressure: number
  /** Pump efficiency at the BEP. */
  bestEfficiency: number
  motorEfficiency: number
  /** Motor rated shaft power, kW, and the current it draws at that power, A. */
  ratedPower: number
  ratedCurrent: number
  /** Vibration RMS at the BEP, mm/s. */
  vibrationBase: number
  /** Bearing thermal time constant, ms. */
  bearingTauMs: number
  /** Pump-room ambient: daily mean and half swing, °C; supply water temperature, °C. */
  ambientMean: number
  ambientSwing: number
  waterTemp: number
  /** Local-time shift of the demand profile, hours. */
  demandShift: number
}

/**
 * The pump's mechanical and hydraulic condition, each 0 (healthy) to 1 (full fault). Set by the fault
 * wrapper before each reading (faults.ts documents what each does to the channels):
 * - valve: a valve partly closed, system resistance x(1 + 1.5*valve);
 * - cavitation: suction pressure too low, head breaks down by 18-30% and fluctuates, strong broadband vibration;
 * - bearing: bearing wear, vibration and bearing heat grow, friction adds to the shaft power;
 * - leak: a leak downstream, an open parallel path passing half the BEP flow at rated head.
 */
export interface PumpCondition {
  valve: number
  cavitation: number
  bearing: number
  leak: number
}

export interface PumpOptions {
  seed: number
  /** Override any drawn parameter (derived ratings are recomputed only when not given). */
  params?: Partial<PumpParams>
}

/** rho*g/3.6e6: hydraulic kW per (m³/h * m) for water. */
const KW_PER_FLOW_HEAD = (1000 * 9.81) / 3.6e6
/** bar per metre of water column. */
const BAR_PER_M = 0.0981
const LINE_VOLTAGE = 400
/** Magnetising current as a share of the rated active current. */
const MAGNETISING = 0.45
/** Heat capacity of water per m³/h of flow, W/K: 4.186e6 J/(m³K) / 3600 s/h. */
const WATER_W_PER_K_PER_FLOW = 4.186e6 / 3600

/** Draws a pump's design from its seed: sizes 10-400 m³/h, 15-90 m, 1450 or 2900 rpm. */
export function pumpParams(seed: number, overrides: Partial<PumpParams> = {}): PumpParams {
  const r = createRandom(seed ^ 0x5eed9a11)
  const ratedFlow = overrides.ratedFlow ?? 10 * 40 ** r.next()
  const ratedHead = overrides.ratedHead ?? between(r, 15, 90)
  const shutoffHead = overrides.shutoffHead ?? ratedHead * between(r, 1.2, 1.35)
  const speedRpm = overrides.speedRpm ?? (ratedHead > 50 || r.next() < 0.5 ? 2900 : 1450)
  const speedRatio = overrides.speedRatio ?? between(r, 0.88, 1)
  const staticHead = overrides.staticHead ?? ratedHead * speedRatio ** 2 * between(r, 0.2, 0.5)
  const suctionPressure = overrides.suctionPressure ?? between(r, 0.3, 2)
  const bestEfficiency =
    overrides.bestEfficiency ??
    Math.min(0.88, 0.55 + 0.055 * Math.log2(ratedFlow / 10) + between(r, -0.03, 0.03))
  const motorEfficiency = overrides.motorEfficiency ?? between(r, 0.88, 0.95)
  const bepPower = (KW_PER_FLOW_HEAD * ratedFlow * ratedHead) / bestEfficiency
  const ratedPower = overrides.ratedPower ?? bepPower * 1.15
  const activeRated = (ratedPower * 1000) / (motorEfficiency * Math.sqrt(3) * LINE_VOLTAGE)
  const ratedCurrent = overrides.ratedCurrent ?? activeRated * Math.sqrt(1 + MAGNETISING ** 2)
  return {
    ratedFlow,
    ratedHead,
    shutoffHead,
    speedRpm,
    speedRatio,
    staticHead,
    suctionPressure,
    bestEfficiency,
    motorEfficiency,
    ratedPower,
    ratedCurrent,
    vibrationBase: overrides.vibrationBase ?? between(r, 0.8, 2.2) * (speedRpm === 2900 ? 1.3 : 1),
    bearingTauMs: overrides.bearingTauMs ?? between(r, 8, 15) * 60_000,
    ambientMean: overrides.ambientMean ?? between(r, 12, 28),
    ambientSwing: overrides.ambientSwing ?? between(r, 1.5, 5),
    waterTemp: overrides.waterTemp ?? between(r, 8, 20),
    demandShift: overrides.demandShift ?? between(r, -0.5, 0.5),
  }
}

export function createPump(options: PumpOptions): Pump {
  return new Pump(options.seed, pumpParams(options.seed, options.params))
}

/** A noiseless snapshot of the physics at the last reading, for tests and the simulated-MCU page. */
export interface PumpState {
  demand: number
  flow: number
  head: number
  pressure: number
  shaftPower: number
  current: number
  vibration: number
  bearingTemp: number
  fluidTemp: number
  ambient: number
}

export class Pump implements Sensor {
  readonly kind = 'pump'
  readonly params: PumpParams
  /** Set by faults.ts before each reading; all 0 is a healthy pump. */
  readonly condition: PumpCondition = { valve: 0, cavitation: 0, bearing: 0, leak: 0 }
  /** The physics behind the last reading (no noise). */
  readonly state: PumpState = {
    demand: 0,
    flow: 0,
    head: 0,
    pressure: 0,
    shaftPower: 0,
    current: 0,
    vibration: 0,
    bearingTemp: 0,
    fluidTemp: 0,
    ambient: 0,
  }

  private readonly clock = new ReadClock()
  private readonly random: Random
  /** A second stream for what only faults use, so a fault never shifts the healthy noise sequence. */
  private readonly faultRandom: Random
  private readonly specs: Record<PumpChannel, ChannelSpec>
  private readonly steps: Record<PumpChannel, number>

  // Derived constants of the curves at running speed.
  private readonly shutoff: number
  private readonly curveK: number
  private readonly bepFlow: number
  private readonly designResistance: number
  private readonly magnetising: number
  private readonly activePerKw: number

  private readonly slowDemand: Walk
  private readonly fastDemand: Walk
  private readonly vibrationWander: Walk
  private readonly weather: Walk
  private readonly surge: Walk
  private readonly rattle: Walk
  private readonly bearing: Lag
  private readonly fluid: Lag

  constructor(seed: number, params: PumpParams) {
    this.params = params
    const p = params
    const s = p.speedRatio
    this.random = createRandom(seed)
    this.faultRandom = createRandom(seed ^ 0x0fa17ed)
    this.shutoff = p.shutoffHead * s * s
    this.curveK = (p.shutoffHead - p.ratedHead) / (p.ratedFlow * p.ratedFlow)
    this.bepFlow = p.ratedFlow * s
    // At full demand the system passes 5% more than the BEP flow.
    const fullFlow = 1.05 * this.bepFlow
    this.designResistance = Math.max(
      1e-9,
      (this.shutoff - p.staticHead) / (fullFlow * fullFlow) - this.curveK,
    )
    this.activePerKw = 1000 / (p.motorEfficiency * Math.sqrt(3) * LINE_VOLTAGE)
    this.magnetising = MAGNETISING * p.ratedPower * this.activePerKw

    const g = this.random
    this.slowDemand = new Walk(20 * 60_000, 0.04, 0.04 * g.gaussian())
    this.fastDemand = new Walk(5_000, 0.008, 0.008 * g.gaussian())
    this.vibrationWander = new Walk(30 * 60_000, 0.05, 0.05 * g.gaussian())
    this.weather = new Walk(8 * 3_600_000, 1.5, 1.5 * g.gaussian())
    this.surge = new Walk(1_000, 1)
    this.rattle = new Walk(400, 1)
    this.bearing = new Lag(p.bearingTauMs)
    this.fluid = new Lag(3_600_000)

    const pressureRange = standardRange(p.suctionPressure + BAR_PER_M * p.shutoffHead * 1.1)
    this.specs = {
      flow: { unit: 'm3/h', sigma: 0.004 * p.ratedFlow, resolution: 0.1, min: 0, max: 2.5 * p.ratedFlow },
      pressure: { unit: 'bar', sigma: 0.002 * pressureRange, resolution: 0.01, min: 0, max: pressureRange },
      current: {
        unit: 'A',
        sigma: 0.005 * p.ratedCurrent,
        resolution: 0.01,
        min: 0,
        max: 2 * p.ratedCurrent,
      },
      vibration: {
        unit: 'mm/s',
        sigma: 0.03 * p.vibrationBase * s * s + 0.01,
        resolution: 0.01,
        min: 0,
        max: 50,
      },
      bearingTemp: { unit: 'degC', sigma: 0.08, resolution: 0.1, min: -20, max: 150 },
      fluidTemp: { unit: 'degC', sigma: 0.04, resolution: 0.1, min: -10, max: 100 },
    }
    this.steps = {
      flow: stepsPerUnit(0.1),
      pressure: stepsPerUnit(0.01),
      current: stepsPerUnit(0.01),
      vibration: stepsPerUnit(0.01),
      bearingTemp: stepsPerUnit(0.1),
      fluidTemp: stepsPerUnit(0.1),
    }
  }

  channels(): string[] {
    return [...PUMP_CHANNELS]
  }

  describe(): Record<string, ChannelSpec> {
    const out: Record<string, ChannelSpec> = {}
    for (const c of PUMP_CHANNELS) out[c] = { ...this.specs[c] }
    return out
  }

  read(tMs: number): Reading {
    const dt = this.clock.advance(tMs)
    const p = this.params
    const c = this.condition
    const g = this.random
    const valve = clamp01(c.valve)
    const cavitation = clamp01(c.cavitation)
    const wear = clamp01(c.bearing)
    const leak = clamp01(c.leak)

    // Demand and the system curve.
    const hour = hourOfDay(tMs, p.demandShift)
    const wander = this.slowDemand.step(dt, g.gaussian())
    const flicker = this.fastDemand.step(dt, g.gaussian())
    const want = Math.max(0.05, demand(hour) * (1 + wander) * (1 + flicker))
    const resistance = (this.designResistance / (want * want)) * (1 + 1.5 * valve)

    // The pump curve, lowered and unsteady when it cavitates.
    const surge = this.surge.step(dt, this.faultRandom.gaussian())
    const rattle = this.rattle.step(dt, this.faultRandom.gaussian())
    const headFactor = 1 - cavitation * (0.18 + 0.12 * Math.min(2, Math.abs(surge)))
    const a = headFactor * this.shutoff
    const b = headFactor * this.curveK
    const hs = p.staticHead

    // The operating point.
    let flow: number
    let head: number
    if (leak > 0) {
      const leakCoef = (leak * 0.5 * this.bepFlow) / Math.sqrt(p.ratedHead * p.speedRatio * p.speedRatio)
      head = operatingHeadWithLeak(a, b, hs, resistance, leakCoef)
      flow = Math.sqrt(Math.max(0, a - head) / b)
    } else {
      flow = Math.sqrt(Math.max(0, a - hs) / (b + resistance))
      head = a - b * flow * flow
    }

    // Power and current.
    const x = flow / this.bepFlow
    const hydraulic = KW_PER_FLOW_HEAD * flow * head
    const pumpShaft = (KW_PER_FLOW_HEAD * head * this.bepFlow) / (p.bestEfficiency * Math.max(2 - x, 0.2))
    const friction = 0.06 * wear * p.ratedPower
    const shaft = pumpShaft + friction
    const active = shaft * this.activePerKw
    const current = Math.sqrt(active * active + this.magnetising * this.magnetising)

    // Vibration: off-BEP growth, cavitation rattle, bearing wear.
    const v0 = p.vibrationBase * p.speedRatio * p.speedRatio
    // Part load (recirculation) shakes a pump more than running beyond the BEP does.
    const offBep = (x < 1 ? 2.5 : 1) * (x - 1) * (x - 1)
    const partLoad = Math.max(0, 0.7 - x)
    const wander2 = this.vibrationWander.step(dt, g.gaussian())
    const vibration =
      v0 * (1 + offBep + 6 * partLoad * partLoad) * (1 + wander2) +
      cavitation * v0 * (3 + 2 * Math.min(3, Math.abs(rattle))) +
      4 * v0 * wear * Math.sqrt(wear)

    // Temperatures.
    const ambient =
      p.ambientMean + p.ambientSwing * dailyCycle(hour, 15) + this.weather.step(dt, g.gaussian())
    const bearingTarget = ambient + 15 * p.speedRatio * p.speedRatio + (6 * shaft) / p.ratedPower + 35 * wear
    const bearingTemp = this.bearing.follow(bearingTarget, dt)
    const supply = this.fluid.follow(0.7 * p.waterTemp + 0.3 * ambient, dt)
    const losses = Math.max(0, shaft - hydraulic) * 1000
    const fluidTemp = supply + losses / (WATER_W_PER_K_PER_FLOW * Math.max(flow, 1))

    const pressure = p.suctionPressure * (1 - 0.5 * cavitation) + BAR_PER_M * head

    const st = this.state
    st.demand = want
    st.flow = flow
    st.head = head
    st.pressure = pressure
    st.shaftPower = shaft
    st.current = current
    st.vibration = vibration
    st.bearingTemp = bearingTemp
    st.fluidTemp = fluidTemp
    st.ambient = ambient

    const sp = this.specs
    const n = this.steps
    const unsteady = 1 + 4 * cavitation
    return {
      flow: measure(flow, sp.flow.sigma * unsteady, g.gaussian(), n.flow, sp.flow),
      pressure: measure(pressure, sp.pressure.sigma * unsteady, g.gaussian(), n.pressure, sp.pressure),
      current: measure(current, sp.current.sigma, g.gaussian(), n.current, sp.current),
      vibration: measure(vibration, 0.03 * vibration + 0.01, g.gaussian(), n.vibration, sp.vibration),
      bearingTemp: measure(bearingTemp, sp.bearingTemp.sigma, g.gaussian(), n.bearingTemp, sp.bearingTemp),
      fluidTemp: measure(fluidTemp, sp.fluidTemp.sigma, g.gaussian(), n.fluidTemp, sp.fluidTemp),
    }
  }
}

/**
 * Head where the pump curve H = a - b*Q^2 meets the system plus a leak: pump flow sqrt((a-H)/b) equals
 * system flow sqrt((H-hs)/r) plus leak flow c*sqrt(H). The left side falls and the right side rises with H,
 * so the root in [0, a] is unique; 40 bisection steps bring it within a * 2^-40.
 */
function operatingHeadWithLeak(a: number, b: number, hs: number, r: number, c: number): number {
  if (a <= 0) return 0
  let lo = 0
  let hi = a
  for (let i = 0; i < 40; i++) {
    const h = 0.5 * (lo + hi)
    const pumped = Math.sqrt((a - h) / b)
    const taken = Math.sqrt(Math.max(0, h - hs) / r) + c * Math.sqrt(h)
    if (pumped > taken) lo = h
    else hi = h
  }
  return 0.5 * (lo + hi)
}

/** The smallest common transmitter range (bar) that holds `value`. */
function standardRange(value: number): number {
  for (const r of [4, 6, 10, 16, 25, 40]) if (value <= r) return r
  return 60
}

function clamp01(v: number): number {
  return v > 0 ? (v < 1 ? v : 1) : 0
}
