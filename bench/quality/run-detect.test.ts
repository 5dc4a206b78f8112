import { beforeAll, describe, expect, it } from 'vitest'
import { createRandom } from '../../firmware/sensors/random.js'
import type { Kernel } from '../../kernels/host/kernel.js'
import { loadNodeKernel } from '../../kernels/node.js'
import { type DeviceRows, flagRows } from './run-detect.js'

let kernel: Kernel
beforeAll(async () => {
  kernel = await loadNodeKernel()
})

function noisy(deviceId: string, seed: number, rows: number): DeviceRows {
  const r = createRandom(seed)
  const ts = Float64Array.from({ length: rows }, (_, i) => Date.UTC(2026, 0, 1) + i * 60_000)
  const a = Float64Array.from({ length: rows }, () => 20 + r.gaussian())
  const b = Float64Array.from({ length: rows }, () => 5 + 0.1 * r.gaussian())
  return { deviceId, ts, metrics: { a, b } }
}

describe('flagRows (detect over NDJSON, read back)', () => {
  it('flags the row of a large spike on its own device only, and missing metrics are left out', async () => {
    const one = noisy('one', 1, 1500)
    const two = noisy('two', 2, 1500)
    one.metrics.a![1000] = 80
    two.metrics.b![700] = Number.NaN
    const [f1, f2] = await flagRows(kernel, [one, two])
    expect(f1).toHaveLength(1500)
    expect(f2).toHaveLength(1500)
    expect(f1![1000]).toBe(1)
    expect(f2![1000]).toBe(0)
    // a well-behaved Gaussian series: few flags after the warm-up
    const late = f2!.slice(200).reduce((n, x) => n + x, 0)
    expect(late).toBeLessThan(60)
  })

  it('passes the baseline option through to detect', async () => {
    const flags = await flagRows(kernel, [noisy('solo', 3, 300)], { baseline: 100 })
    expect(flags[0]).toHaveLength(300)
  })
})
