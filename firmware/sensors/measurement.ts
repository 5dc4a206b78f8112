// What the instrument adds to the physics: Gaussian measurement noise, quantisation to the output
// resolution, and clamping to the instrument's range. Resolutions are given as steps per unit (10 for 0.1)
// so a reading is an exact short decimal (21.3, not 21.299999999999997).
import type { ChannelSpec } from './sensor.js'

/** Steps per unit for a resolution: 0.1 -> 10, 0.01 -> 100, 1 -> 1; 0 (no quantisation) -> 0. */
export function stepsPerUnit(resolution: number): number {
  return resolution > 0 ? Math.round(1 / resolution) : 0
}

/** Quantises `value` to 1/steps and clamps it to [min, max]; steps 0 leaves the value as is. -0 becomes 0. */
export function quantise(value: number, steps: number, min: number, max: number): number {
  const q = steps > 0 ? Math.round(value * steps) / steps : value
  return (q < min ? min : q > max ? max : q) + 0
}

/** A reading of `truth` with noise `sigma * n` (n a standard normal draw), quantised and clamped per `spec`. */
export function measure(truth: number, sigma: number, n: number, steps: number, spec: ChannelSpec): number {
  return quantise(truth + sigma * n, steps, spec.min, spec.max)
}
