// Batches that mix many devices, for the shard tests: each round is several batches sent at once,
// every batch holding its own devices (so no two concurrent batches share a series, and the order
// they are analysed in cannot change a verdict) and each device moving forward in time round by
// round. Spikes, rule violations, error levels, and entries that must be rejected (not JSON, no
// deviceId, a bad timestamp, a non-object) at known places; blank lines and CRLF line ends too.

export const T0 = Date.UTC(2026, 0, 1)

export interface Round {
  /** One body per batch of the round, sent concurrently. */
  bodies: string[]
}

export interface MixedOptions {
  devices: number
  /** Concurrent batches per round; batch b holds the devices d with d % batches === b. */
  batches: number
  rounds: number
  /** Samples per device per round. */
  samples: number
  format: 'ndjson' | 'json'
}

export const MIXED: MixedOptions = { devices: 40, batches: 4, rounds: 6, samples: 25, format: 'ndjson' }

export function deviceId(d: number): string {
  return `edge-${d}`
}

function entries(o: MixedOptions, round: number, batch: number): unknown[] {
  const out: unknown[] = []
  for (let s = 0; s < o.samples; s++) {
    const i = round * o.samples + s
    for (let d = batch; d < o.devices; d += o.batches) {
      let temp = 40 + Math.sin(i / 9 + d) * 2 + ((i * 7 + d * 13) % 11) / 10
      if (i % 53 === 40 + (d % 7)) temp += 30 // a spike, and a high_temp rule violation
      const row: Record<string, unknown> = {
        deviceId: deviceId(d),
        ts: T0 + i * 1000 + d,
        temp: Math.round(temp * 1000) / 1000,
        latencyMs: 80 + ((i * 31 + d) % 40) + (i % 61 === d % 61 ? 1500 : 0),
      }
      if ((i + d) % 37 === 0) Object.assign(row, { level: 'error', msg: `fault ${i}` })
      if (d % 3 === 0) row.metrics = { vibration: Math.round((1 + Math.cos(i / 5 + d)) * 1000) / 1000 }
      out.push(row)
      const k = out.length
      if (k % 41 === 7) out.push({ temp: 3 }) // no deviceId
      if (k % 43 === 11) out.push({ deviceId: deviceId(d), ts: 'yesterday', temp: 1 }) // its device's shard rejects it
      if (k % 47 === 13) out.push(17) // not an object
      if (k % 59 === 17) out.push('NOT JSON') // NDJSON: a line that is not JSON
    }
  }
  return out
}

/** The rounds of a mixed dataset, each batch in the format asked for. */
export function mixedRounds(o: MixedOptions = MIXED): Round[] {
  const rounds: Round[] = []
  for (let r = 0; r < o.rounds; r++) {
    const bodies: string[] = []
    for (let b = 0; b < o.batches; b++) {
      const items = entries(o, r, b)
      if (o.format === 'json') {
        bodies.push(JSON.stringify(items.map((e) => (e === 'NOT JSON' ? [1] : e))))
        continue
      }
      bodies.push(
        items
          .map((e, k) => {
            const line = e === 'NOT JSON' ? 'NOT JSON' : JSON.stringify(e)
            if (k % 29 === 5) return `${line}\r` // CRLF
            if (k % 31 === 9) return `${line}\n  ` // a blank line after it
            return line
          })
          .join('\n'),
      )
    }
    rounds.push({ bodies })
  }
  return rounds
}
