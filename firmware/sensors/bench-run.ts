// Prints the pump simulation's cost (bench.ts), plain and behind fault wrappers; the last line is one JSON
// object. `npx tsx firmware/sensors/bench-run.ts`
import { benchPumps } from './bench.js'

const plain = benchPumps()
const withFaults = benchPumps({ faults: true })
const round = (r: typeof plain) => ({
  ...r,
  nsPerRead: Math.round(r.nsPerRead),
  coreShareAt1Hz: Number(r.coreShareAt1Hz.toFixed(4)),
})
console.log(
  JSON.stringify({ bench: 'firmware-sensors-pump', plain: round(plain), withFaults: round(withFaults) }),
)
