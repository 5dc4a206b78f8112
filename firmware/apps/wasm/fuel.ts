// Running a metered app's function with a fuel budget (for the hosts that run apps: the agent on Node
// and in a browser worker). Uses only the exported global's `value`, so this file names no
// WebAssembly API either.
import { FUEL_EXPORT } from './meter.js'

/** The exported fuel global (a WebAssembly.Global of type i64: its value is a BigInt). */
export interface FuelGlobal {
  value: bigint
}

/** The fuel global of a metered instance's exports; throws if the module was not metered. */
export function fuelGlobal(exports: Record<string, unknown>): FuelGlobal {
  const g = exports[FUEL_EXPORT] as { value?: unknown } | undefined
  if (!g || typeof g.value !== 'bigint')
    throw new TypeError(`the instance has no ${FUEL_EXPORT} global: meter() the module first`)
  return g as FuelGlobal
}

export type MeteredCall<T> =
  | { ok: true; value: T; fuelUsed: bigint }
  /** `outOfFuel`: the budget ran out (the fuel is below zero); otherwise another trap or a host function's error. */
  | { ok: false; outOfFuel: boolean; error: unknown; fuelUsed: bigint }

/**
 * Sets the fuel to `budget`, calls fn, and says how it ended. A call that traps with the fuel below
 * zero ran out of fuel (the budget ran out at or before the trap); a metered function never returns
 * normally with the fuel below zero.
 */
export function callWithFuel<T>(fuel: FuelGlobal, budget: bigint, fn: () => T): MeteredCall<T> {
  if (budget < 0n) throw new RangeError('a fuel budget cannot be negative')
  fuel.value = budget
  try {
    const value = fn()
    return { ok: true, value, fuelUsed: budget - fuel.value }
  } catch (error) {
    const left = fuel.value
    return { ok: false, outOfFuel: left < 0n, error, fuelUsed: budget - left }
  }
}
