import { beforeAll, describe, expect, it } from 'vitest'
import type { Kernel } from '../../kernels/host/kernel.js'
import { DEFAULT_PARAMS, encodeParams } from '../../kernels/host/params.js'
import { loadNodeKernel } from '../../kernels/node.js'
import { checkFaults } from './recall.js'
import { FAULT_KINDS, faultyStream } from './streams.js'

let kernel: Kernel
beforeAll(async () => {
  kernel = await loadNodeKernel()
})

describe('the seeded-fault check', () => {
  it('labels every faulty sample and keeps faults apart', () => {
    const s = faultyStream(3)
    expect(s.faults.length).toBeGreaterThan(20)
    for (const kind of FAULT_KINDS) expect(s.faults.some((f) => f.kind === kind)).toBe(true)
    s.faults.forEach((f, k) => {
      for (let i = f.start; i < f.end; i++) expect(s.faultOf[i]).toBe(k)
      if (k > 0) expect(f.start - s.faults[k - 1]!.end).toBeGreaterThanOrEqual(150)
    })
    expect(faultyStream(3).values).toEqual(s.values)
  })

  it('the default detectors find >= 95% of injected faults, flagging <= 1% of clean samples', () => {
    const params = encodeParams(DEFAULT_PARAMS)
    let faults = 0
    let detected = 0
    let clean = 0
    let falsePositives = 0
    for (let seed = 1; seed <= 10; seed++) {
      const stream = faultyStream(seed)
      const { flags } = kernel.run(undefined, stream.ts, stream.values, params)
      const check = checkFaults(stream, flags, 600)
      faults += check.faults
      detected += check.detected
      clean += check.cleanSamples
      falsePositives += check.falsePositives
      for (const kind of FAULT_KINDS) {
        const k = check.byKind[kind]
        if (k.faults > 0) expect(k.detected / k.faults, `${kind}, seed ${seed}`).toBeGreaterThanOrEqual(0.75)
      }
    }
    expect(faults).toBeGreaterThanOrEqual(200)
    expect(detected / faults).toBeGreaterThanOrEqual(0.95)
    expect(falsePositives / clean).toBeLessThanOrEqual(0.01)
  })
})
