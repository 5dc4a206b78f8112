import { describe, expect, it } from 'vitest'
import { callWithFuel, fuelGlobal } from './fuel.js'
import { meter } from './meter.js'
import { minimalApp } from './testing/assemble.js'

describe('callWithFuel', () => {
  it('sets the budget, reports the fuel used, and tells running out from other errors', async () => {
    const { instance } = await WebAssembly.instantiate(meter(minimalApp()), {
      env: { memory: new WebAssembly.Memory({ initial: 1 }) },
    })
    const fuel = fuelGlobal(instance.exports)
    const tick = instance.exports.tick as () => number
    expect(fuel.value).toBe(0n)
    expect(() => tick()).toThrow(WebAssembly.RuntimeError) // no budget set: it traps at once
    expect(callWithFuel(fuel, 10n, tick)).toEqual({ ok: true, value: 7, fuelUsed: 2n })
    expect(callWithFuel(fuel, 2n, tick)).toEqual({ ok: true, value: 7, fuelUsed: 2n })
    expect(callWithFuel(fuel, 1n, tick)).toMatchObject({ ok: false, outOfFuel: true, fuelUsed: 2n })
    const error = new Error('host failed')
    expect(
      callWithFuel(fuel, 10n, () => {
        throw error
      }),
    ).toEqual({ ok: false, outOfFuel: false, error, fuelUsed: 0n })
    expect(() => callWithFuel(fuel, -1n, tick)).toThrow(RangeError)
  })

  it('refuses an instance that was not metered', async () => {
    const { instance } = await WebAssembly.instantiate(minimalApp(), {
      env: { memory: new WebAssembly.Memory({ initial: 1 }) },
    })
    expect(() => fuelGlobal(instance.exports)).toThrow(
      /no __edgewatch_fuel global: meter\(\) the module first/,
    )
  })
})
