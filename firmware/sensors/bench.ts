// The cost of simulating a fleet: ns per pump reading, and the share of one core that a fleet read once per
// second takes. Only performance.now() for timing, so the same figure can be taken in Node and in a browser
// worker. Run it with `npx tsx firmware/sensors/bench-run.ts`; bench.test.ts holds it to its budget.
import { withFaults } from './faults.js'
import { createPump } from './pump.js'
import type { Sensor } from './sensor.js'

export interface PumpBenchOptions {
  /** Pumps in the fleet (default 10,000). */
  pumps?: number
  /** Rounds timed, each reading every pump once, one simulated second apart (default 30). */
  rounds?: number
  /** Untimed rounds first, for the JIT (default 5). */
  warmup?: number
  /** Wrap each pump in withFaults, with a valve fault on every tenth pump and noise on every tenth other. */
  faults?: boolean
}

export interface PumpBenchResult {
  pumps: number
  reads: number
  faults: boolean
  nsPerRead: number
  /** CPU share of one core to read every pump once per simulated second: pumps * nsPerRead / 1e9. */
  coreShareAt1Hz: number
}

export function benchPumps(options: PumpBenchOptions = {}): PumpBenchResult {
  const { pumps = 10_000, rounds = 30, warmup = 5, faults = false } = options
  const start = Date.UTC(2026, 0, 5, 6)
  const fleet: Sensor[] = []
  for (let i = 0; i < pumps; i++) {
    const pump = createPump({ seed: i })
    if (!faults) {
      fleet.push(pump)
      continue
    }
    const device = withFaults(pump, { deviceId: `pump-${i}` })
    if (i % 10 === 0) device.inject({ kind: 'valve', start: start + 1, duration: 3_600_000 })
    if (i % 10 === 5) device.inject({ kind: 'noise', channel: 'flow', start: start + 1, duration: 3_600_000 })
    fleet.push(device)
  }
  let t = start
  let sink = 0
  for (let r = 0; r < warmup; r++, t += 1000) for (const s of fleet) sink += s.read(t).flow!
  const began = performance.now()
  for (let r = 0; r < rounds; r++, t += 1000) for (const s of fleet) sink += s.read(t).flow!
  const elapsedMs = performance.now() - began
  if (!Number.isFinite(sink)) throw new Error('a reading was not finite')
  const reads = pumps * rounds
  const nsPerRead = (elapsedMs * 1e6) / reads
  return { pumps, reads, faults, nsPerRead, coreShareAt1Hz: (pumps * nsPerRead) / 1e9 }
}
