// A deterministic device log for the end-to-end tests and the replay benchmark: a few devices,
// smooth temperatures and latencies with injected spikes and a stuck stretch, some error lines,
// and (optionally) one malformed line.
import { prng } from '../../bench/faults/streams.js'

export interface FixtureOptions {
  records: number
  devices?: number
  seed?: number
  /** Line (1-based) to replace with malformed JSON. */
  malformedLine?: number
  start?: number
}

/** NDJSON lines (each ending in \n), records in time order across devices. */
export function* fixtureLines(opts: FixtureOptions): Generator<string> {
  const devices = opts.devices ?? 3
  const next = prng(opts.seed ?? 7)
  const start = opts.start ?? Date.UTC(2026, 10, 1)
  for (let i = 0; i < opts.records; i++) {
    if (opts.malformedLine === i + 1) {
      yield '{"deviceId": "broken", "ts": \n'
      continue
    }
    const d = i % devices
    const k = Math.floor(i / devices)
    let temp = 40 + 5 * Math.sin(k / 50) + next() * 0.5
    if (k % 397 === 200) temp += 25
    if (k % 1000 >= 600 && k % 1000 < 640) temp = 41.25
    const latencyMs = Math.round(120 + next() * 20 + (k % 613 === 300 ? 900 : 0))
    const record: Record<string, unknown> = {
      deviceId: `dev-${d + 1}`,
      ts: new Date(start + k * 1000).toISOString(),
      temp: Math.round(temp * 1000) / 1000,
      latencyMs,
    }
    if (k % 500 === 250) {
      record.level = 'error'
      record.msg = 'sensor bus reset'
    }
    yield JSON.stringify(record) + '\n'
  }
}
