// The two slow processes every simulated sensor is built from, each advanced exactly over any time step:
// - Lag: a first-order lag (thermal mass, room air) that follows a target with time constant tau;
// - Walk: an Ornstein-Uhlenbeck random walk (weather, demand wander) that reverts to 0 with time constant
//   tau and has stationary standard deviation sigma.
// Exact discretisation (exp(-dt/tau)) makes the result independent of the read cadence, and a gap of hours
// is as valid as a step of one second. The factors are cached for the last step size, so a sensor read at a
// steady cadence pays no exp per reading.

export class Lag {
  private dt = -1
  private keep = 1

  /** `tauMs`: time constant in ms; `value`: initial value (NaN: start at the first target). */
  constructor(
    readonly tauMs: number,
    public value = Number.NaN,
  ) {}

  /** Moves `dtMs` towards `target` and returns the new value. */
  follow(target: number, dtMs: number): number {
    if (Number.isNaN(this.value)) {
      this.value = target
      return target
    }
    if (dtMs !== this.dt) {
      this.dt = dtMs
      this.keep = Math.exp(-dtMs / this.tauMs)
    }
    this.value = target + (this.value - target) * this.keep
    return this.value
  }
}

export class Walk {
  private dt = -1
  private keep = 1
  private kick = 0

  /** Starts at `value` (e.g. sigma * N(0, 1), a draw from the stationary distribution). */
  constructor(
    readonly tauMs: number,
    readonly sigma: number,
    public value = 0,
  ) {}

  /** Moves `dtMs` ahead with the standard normal draw `n` and returns the new value. */
  step(dtMs: number, n: number): number {
    if (dtMs !== this.dt) {
      this.dt = dtMs
      this.keep = Math.exp(-dtMs / this.tauMs)
      this.kick = this.sigma * Math.sqrt(1 - this.keep * this.keep)
    }
    this.value = this.value * this.keep + this.kick * n
    return this.value
  }
}
