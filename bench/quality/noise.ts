// The noise of real sensors is neither white nor Gaussian: it comes in heavy-tailed bursts and each
// reading remembers the last few. This file gives the quality generator that noise: Student-t draws
// scaled to unit variance, and an AR(2) process driven by them, scaled so its stationary variance is 1
// whatever the coefficients, so a generator states its noise level as one plain standard deviation.
import type { Random } from '../../firmware/sensors/random.js'

/**
 * A Student-t draw with `dof` degrees of freedom (an integer >= 3), scaled to variance 1:
 * Z / sqrt(chi²/dof) has variance dof/(dof-2). Small dof gives heavy tails (excess kurtosis 6/(dof-4)).
 */
export function studentT(random: Random, dof: number): number {
  let chi2 = 0
  for (let k = 0; k < dof; k++) {
    const g = random.gaussian()
    chi2 += g * g
  }
  // chi2 is 0 only when every draw is exactly 0; the guard keeps the result finite even then.
  const t = random.gaussian() / Math.sqrt(Math.max(chi2, 1e-300) / dof)
  return t * Math.sqrt((dof - 2) / dof)
}

/** Stationary variance of x = a1 x' + a2 x'' + e per unit variance of e (Box & Jenkins, AR(2)). */
export function ar2Variance(a1: number, a2: number): number {
  return (1 - a2) / ((1 + a2) * ((1 - a2) * (1 - a2) - a1 * a1))
}

/** Whether (a1, a2) lies inside the AR(2) stationarity triangle. */
export function isStationary(a1: number, a2: number): boolean {
  return Math.abs(a2) < 1 && a2 + a1 < 1 && a2 - a1 < 1
}

/**
 * Autocorrelated heavy-tailed noise with stationary variance 1: AR(2) over Student-t innovations.
 * AR(1) is a2 = 0. It starts from its stationary spread (two burn-in draws are not enough: the first
 * readings would be too quiet), so a stream has no quiet opening a detector could learn from.
 */
export class ArNoise {
  private x1 = 0
  private x2 = 0
  private readonly innovation: number

  constructor(
    private readonly random: Random,
    private readonly a1: number,
    private readonly a2: number,
    private readonly dof: number,
  ) {
    if (!isStationary(a1, a2)) throw new RangeError(`AR(2) (${a1}, ${a2}) is not stationary`)
    this.innovation = 1 / Math.sqrt(ar2Variance(a1, a2))
    for (let k = 0; k < 200; k++) this.next()
  }

  next(): number {
    const x = this.a1 * this.x1 + this.a2 * this.x2 + this.innovation * studentT(this.random, this.dof)
    this.x2 = this.x1
    this.x1 = x
    return x
  }
}
