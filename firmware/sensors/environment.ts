// A simulated environment sensor (temperature, humidity, barometric pressure, CO2), as a Sensor. Physics,
// per reading at time t (UTC):
// - temperature: a daily cycle peaking at 15:00, weather (tau 6 h) and a small fast flicker (tau 5 min);
// - humidity: from the Magnus formula, RH = 100 * es(dew point) / es(temperature), with a dew point that
//   moves slowly (weather, tau 12 h) and little over the day: so RH falls as the air warms in the afternoon
//   and rises at night (anti-correlated with temperature), clamped to 0-100 (fog at 100);
// - pressure: 1013 hPa plus a site offset, weather systems (a random walk, tau 2 days, sigma 8 hPa, smoothed
//   through a 6 h lag so it changes by hPa per hours, not per minutes) and the semidiurnal atmospheric tide
//   (±0.5 hPa, peaks near 10:00 and 22:00);
// - co2: a room's mass balance, outdoor air plus the people present (working hours, lunch dip, quiet
//   weekends; see daily.ts), through the room's air-change time constant (30-90 min).
// Every parameter comes from the seed. Measurement noise, resolution and range per channel are in describe().
import { dailyCycle, dayOfWeek, hourOfDay, occupancy } from './daily.js'
import { Lag, Walk } from './dynamics.js'
import { measure, stepsPerUnit } from './measurement.js'
import { between, createRandom, type Random } from './random.js'
import { type ChannelSpec, ReadClock, type Reading, type Sensor } from './sensor.js'

export const ENVIRONMENT_CHANNELS = ['temperature', 'humidity', 'pressure', 'co2'] as const
export type EnvironmentChannel = (typeof ENVIRONMENT_CHANNELS)[number]

export interface EnvironmentParams {
  /** Daily mean temperature and half swing, °C. */
  temperatureMean: number
  temperatureSwing: number
  /** Mean gap between temperature and dew point, K. */
  dewSpread: number
  /** Site offset of the barometric mean from 1013 hPa. */
  pressureOffset: number
  /** Outdoor CO2, ppm, and the rise a full room adds at steady state, ppm. */
  co2Outdoor: number
  co2Occupied: number
  /** Air-change time constant of the room, ms. */
  airTauMs: number
  /** Local-time offset of the site, hours. */
  siteShift: number
}

export interface EnvironmentOptions {
  seed: number
  params?: Partial<EnvironmentParams>
}

export function environmentParams(
  seed: number,
  overrides: Partial<EnvironmentParams> = {},
): EnvironmentParams {
  const r = createRandom(seed ^ 0xe1f1a0)
  return {
    temperatureMean: overrides.temperatureMean ?? between(r, 5, 25),
    temperatureSwing: overrides.temperatureSwing ?? between(r, 2, 7),
    dewSpread: overrides.dewSpread ?? between(r, 3, 10),
    pressureOffset: overrides.pressureOffset ?? between(r, -5, 5),
    co2Outdoor: overrides.co2Outdoor ?? between(r, 410, 440),
    co2Occupied: overrides.co2Occupied ?? between(r, 400, 1200),
    airTauMs: overrides.airTauMs ?? between(r, 30, 90) * 60_000,
    siteShift: overrides.siteShift ?? between(r, -0.5, 0.5),
  }
}

export function createEnvironment(options: EnvironmentOptions): Environment {
  return new Environment(options.seed, environmentParams(options.seed, options.params))
}

const SPECS: Record<EnvironmentChannel, ChannelSpec> = {
  temperature: { unit: 'degC', sigma: 0.05, resolution: 0.01, min: -40, max: 85 },
  humidity: { unit: '%RH', sigma: 0.3, resolution: 0.1, min: 0, max: 100 },
  pressure: { unit: 'hPa', sigma: 0.06, resolution: 0.1, min: 300, max: 1100 },
  co2: { unit: 'ppm', sigma: 6, resolution: 1, min: 0, max: 5000 },
}
const STEPS: Record<EnvironmentChannel, number> = {
  temperature: stepsPerUnit(SPECS.temperature.resolution),
  humidity: stepsPerUnit(SPECS.humidity.resolution),
  pressure: stepsPerUnit(SPECS.pressure.resolution),
  co2: stepsPerUnit(SPECS.co2.resolution),
}

/** Magnus coefficients (over water, -45 to 60 °C). */
const MAGNUS_B = 17.62
const MAGNUS_C = 243.12

/** The physics behind the last reading (no noise). */
export interface EnvironmentState {
  temperature: number
  dewPoint: number
  humidity: number
  pressure: number
  co2: number
  occupancy: number
}

export class Environment implements Sensor {
  readonly kind = 'environment'
  readonly params: EnvironmentParams
  readonly state: EnvironmentState = {
    temperature: 0,
    dewPoint: 0,
    humidity: 0,
    pressure: 0,
    co2: 0,
    occupancy: 0,
  }

  private readonly clock = new ReadClock()
  private readonly random: Random
  private readonly weather: Walk
  private readonly flicker: Walk
  private readonly moisture: Walk
  private readonly barometric: Walk
  private readonly fronts: Lag
  private readonly room: Lag

  constructor(seed: number, params: EnvironmentParams) {
    this.params = params
    this.random = createRandom(seed)
    const g = this.random
    this.weather = new Walk(6 * 3_600_000, 2.5, 2.5 * g.gaussian())
    this.flicker = new Walk(5 * 60_000, 0.15, 0.15 * g.gaussian())
    this.moisture = new Walk(12 * 3_600_000, 2, 2 * g.gaussian())
    this.barometric = new Walk(2 * 86_400_000, 8.5, 8.5 * g.gaussian())
    this.fronts = new Lag(6 * 3_600_000)
    this.room = new Lag(params.airTauMs)
  }

  channels(): string[] {
    return [...ENVIRONMENT_CHANNELS]
  }

  describe(): Record<string, ChannelSpec> {
    const out: Record<string, ChannelSpec> = {}
    for (const c of ENVIRONMENT_CHANNELS) out[c] = { ...SPECS[c] }
    return out
  }

  read(tMs: number): Reading {
    const dt = this.clock.advance(tMs)
    const p = this.params
    const g = this.random
    const hour = hourOfDay(tMs, p.siteShift)
    const cycle = dailyCycle(hour, 15)

    const weather = this.weather.step(dt, g.gaussian())
    const temperature =
      p.temperatureMean + p.temperatureSwing * cycle + weather + this.flicker.step(dt, g.gaussian())
    // The dew point follows the weather's temperature but hardly the daily cycle.
    const dewPoint =
      p.temperatureMean -
      p.dewSpread +
      0.7 * weather +
      0.2 * p.temperatureSwing * cycle +
      this.moisture.step(dt, g.gaussian())
    const humidity = Math.min(
      100,
      100 *
        Math.exp(
          (MAGNUS_B * dewPoint) / (MAGNUS_C + dewPoint) - (MAGNUS_B * temperature) / (MAGNUS_C + temperature),
        ),
    )

    const tide = 0.5 * Math.cos((4 * Math.PI * (hour - 10)) / 24)
    const weatherSystem = this.fronts.follow(this.barometric.step(dt, g.gaussian()), dt)
    const pressure = 1013 + p.pressureOffset + weatherSystem + tide

    const present = occupancy(hour, dayOfWeek(tMs, p.siteShift))
    const co2 = this.room.follow(p.co2Outdoor + p.co2Occupied * present, dt)

    const st = this.state
    st.temperature = temperature
    st.dewPoint = dewPoint
    st.humidity = humidity
    st.pressure = pressure
    st.co2 = co2
    st.occupancy = present

    return {
      temperature: measure(
        temperature,
        SPECS.temperature.sigma,
        g.gaussian(),
        STEPS.temperature,
        SPECS.temperature,
      ),
      humidity: measure(humidity, SPECS.humidity.sigma, g.gaussian(), STEPS.humidity, SPECS.humidity),
      pressure: measure(pressure, SPECS.pressure.sigma, g.gaussian(), STEPS.pressure, SPECS.pressure),
      co2: measure(co2, SPECS.co2.sigma, g.gaussian(), STEPS.co2, SPECS.co2),
    }
  }
}
