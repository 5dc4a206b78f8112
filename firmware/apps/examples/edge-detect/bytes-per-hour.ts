// What edge-detect saves on the wire: the bytes a pump sends in one simulated hour at 1 reading/s, with and
// without the app, with two injected faults so that there are anomalies to send. Prints one JSON line.
//   npx tsx firmware/apps/examples/edge-detect/bytes-per-hour.ts
// - without: every reading as the agent sends it, one NDJSON line {ts, ...six channels} (firmware/agent/sampler.ts);
// - with: only what edge-detect emits, one NDJSON line {"ts": ..., "<name>": value} per emitted metric;
// - withPerTick: the same metrics, one line per tick that emitted any (all of that tick's metrics in it).
// Each also with the deviceId on every line, as the agent writes it once enrolled.
import { readFileSync } from 'node:fs'
import { recordOf } from '../../../agent/sampler.js'
import { createPump, withFaults } from '../../../sensors/index.js'
import { appPath, EDGE_DETECT_PAGES, ensureApps } from '../../build.js'
import { TestHost } from '../../sdk/test-host.js'

const DEVICE = 'pump-1'
const T0 = Date.UTC(2026, 10, 23, 6, 0, 0)
const HOUR = 3_600_000
const PERIOD = 1000

await ensureApps()
const sensor = withFaults(createPump({ seed: 1 }), { deviceId: DEVICE })
const faults = [
  sensor.inject({ kind: 'spike', channel: 'flow', start: T0 + 10 * 60_000 }),
  sensor.inject({ kind: 'valve', start: T0 + 30 * 60_000, duration: 10 * 60_000 }),
]
const channels = sensor.channels()
const host = await TestHost.start(readFileSync(appPath('edge-detect')), {
  memoryPages: EDGE_DETECT_PAGES,
  channels,
})
if (host.init() !== 0) throw new Error(`edge-detect did not start: ${JSON.stringify(host.logs)}`)

const bytes = (line: string) => Buffer.byteLength(line) + 1
const without = { lines: 0, bytes: 0, bytesWithDeviceId: 0 }
const withApp = {
  lines: 0,
  bytes: 0,
  bytesWithDeviceId: 0,
  anomalies: 0,
  windows: 0,
  /** Of bytes: the anomaly lines (.anomaly and .flags) and the window lines (.window.*). */
  anomalyBytes: 0,
  windowBytes: 0,
}
const withPerTick = { lines: 0, bytes: 0, bytesWithDeviceId: 0 }
for (let ts = T0; ts < T0 + HOUR; ts += PERIOD) {
  const reading = sensor.read(ts)
  without.lines += 1
  without.bytes += bytes(JSON.stringify(recordOf(null, ts, reading)))
  without.bytesWithDeviceId += bytes(JSON.stringify(recordOf(DEVICE, ts, reading)))

  host.emits.length = 0
  if (
    host.tick(
      ts,
      channels.map((c) => reading[c]!),
    ) !== 0
  )
    throw new Error(`edge-detect failed at ${ts}`)
  if (host.emits.length === 0) continue
  const metrics: Record<string, number> = {}
  for (const e of host.emits) {
    const line = bytes(JSON.stringify(recordOf(null, ts, { [e.name]: e.value })))
    withApp.lines += 1
    withApp.bytes += line
    if (e.name.includes('.window.')) withApp.windowBytes += line
    else withApp.anomalyBytes += line
    withApp.bytesWithDeviceId += bytes(JSON.stringify(recordOf(DEVICE, ts, { [e.name]: e.value })))
    if (e.name.endsWith('.anomaly')) withApp.anomalies += 1
    if (e.name.endsWith('.window.mean')) withApp.windows += 1
    metrics[e.name] = e.value
  }
  withPerTick.lines += 1
  withPerTick.bytes += bytes(JSON.stringify(recordOf(null, ts, metrics)))
  withPerTick.bytesWithDeviceId += bytes(JSON.stringify(recordOf(DEVICE, ts, metrics)))
}

console.log(
  JSON.stringify({
    sensor: 'pump',
    seed: 1,
    readingsPerSecond: 1000 / PERIOD,
    hours: 1,
    faults: faults.map((f) => ({ kind: f.kind, sensors: f.sensors, start: f.start - T0, end: f.end - T0 })),
    without,
    with: withApp,
    withPerTick,
    ratio: Number((withApp.bytes / without.bytes).toFixed(3)),
    ratioPerTick: Number((withPerTick.bytes / without.bytes).toFixed(3)),
  }),
)
