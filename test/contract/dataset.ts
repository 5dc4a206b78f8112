// The fixed dataset of the contract suite: three devices, a few thousand samples with a spike, a
// level shift, a stuck run and rule violations at known places. Deterministic, no randomness.

export const T0 = Date.UTC(2026, 0, 1)

export function fixedDataset(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = []
  for (let i = 0; i < 1500; i++) {
    for (const [d, device] of ['press-1', 'press-2', 'press-3'].entries()) {
      let temp = 40 + Math.sin(i / 20 + d) * 2 + ((i * 7 + d * 13) % 11) / 10
      if (device === 'press-1' && i === 700) temp += 25
      if (device === 'press-2' && i >= 900) temp += 4
      if (device === 'press-3' && i >= 1100 && i < 1160) temp = 41.5
      if (device === 'press-3' && i === 1300) temp = 95
      const latencyMs = 80 + ((i * 31 + d) % 40) + (device === 'press-1' && i % 500 === 499 ? 2000 : 0)
      const row: Record<string, unknown> = {
        deviceId: device,
        ts: T0 + i * 5000,
        temp: Math.round(temp * 1000) / 1000,
        latencyMs,
      }
      if (i % 400 === 123) Object.assign(row, { level: 'error', msg: `fault ${i}` })
      if (d === 1) row.metrics = { vibration: Math.round((1 + Math.cos(i / 7)) * 1000) / 1000 }
      rows.push(row)
    }
  }
  return rows
}

export const ndjson = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n')

/** The dataset as the 1,000-record NDJSON batches the suite sends. */
export function batches(rows: object[], size = 1000): string[] {
  const out: string[] = []
  for (let i = 0; i < rows.length; i += size) out.push(ndjson(rows.slice(i, i + size)))
  return out
}
