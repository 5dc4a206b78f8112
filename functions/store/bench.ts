// Throughput of SqliteStore.commitIngest alone: `npx tsx functions/store/bench.ts [batches]`.
// 1000-record batches of ~150-byte bodies from one device with three metrics, plus the series
// states, a couple of anomalies and an idempotency key per batch, as an ingest request writes.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { IngestCommit } from './port.js'
import { openSqliteStore } from './sqlite.js'

const RECORDS_PER_BATCH = 1000
const batches = Number(process.argv[2] ?? 300)
const warmup = Math.ceil(batches / 10)

function makeBatch(n: number): IngestCommit {
  const receivedAt = 1_700_000_000_000 + n * 1000
  const records: IngestCommit['records'] = []
  for (let i = 0; i < RECORDS_PER_BATCH; i++) {
    const ts = receivedAt + i
    const temp = 20 + (i % 7)
    const body = JSON.stringify({
      deviceId: 'dev-1',
      ts,
      level: 'info',
      msg: 'periodic sample from the north gate',
      temp,
      metrics: { hum: 40 + (i % 5), volt: 3.3 },
    })
    records.push({
      record: { deviceId: 'dev-1', ts, level: 'info', msg: 'sample', metrics: [['temp', temp]], body },
      score: 0.1,
      kinds: i % 500 === 0 ? ['spike'] : [],
    })
  }
  const metrics = ['temp', 'hum', 'volt']
  return {
    receivedAt,
    records,
    anomalies: [0, 500].map((i) => ({
      deviceId: 'dev-1',
      ts: receivedAt + i,
      kind: 'spike',
      metric: 'temp',
      value: 26,
      score: 4.2,
      detail: 'z > 4',
    })),
    windows: [],
    states: metrics.map((metric) => ({
      deviceId: 'dev-1',
      metric,
      state: new Uint8Array(64).fill(n % 256),
      lastTs: receivedAt + RECORDS_PER_BATCH - 1,
      sampleCount: (n + 1) * RECORDS_PER_BATCH,
    })),
    deadLetters: [],
    idempotency: { key: `req-${n}`, status: 202, response: '{"accepted":1000}' },
  }
}

async function run(synchronous: 'full' | 'normal'): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'edgewatch-bench-'))
  try {
    const store = openSqliteStore(join(dir, 'bench.db'), { synchronous })
    let elapsed = 0
    for (let n = 0; n < batches; n++) {
      const batch = makeBatch(n) // built outside the timed part
      const start = performance.now()
      await store.commitIngest(batch)
      if (n >= warmup) elapsed += performance.now() - start
    }
    await store.close()
    return ((batches - warmup) * RECORDS_PER_BATCH) / (elapsed / 1000)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

for (const synchronous of ['full', 'normal'] as const) {
  const rates: number[] = []
  for (let i = 0; i < 3; i++) rates.push(await run(synchronous))
  const best = Math.round(Math.max(...rates)).toLocaleString('en')
  const all = rates.map((r) => Math.round(r / 1000) + 'k').join(', ')
  console.log(`synchronous=${synchronous}: best ${best} records/s (runs: ${all})`)
}
