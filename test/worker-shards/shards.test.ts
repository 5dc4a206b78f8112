// The Worker with four shards, run by wrangler dev (workerd and its D1 and Durable Objects, through
// miniflare), must give exactly what one shard and the Node server give for the same input: batches
// mixing many devices sent concurrently, keyed batches retried (also at the same moment), an Influx
// line protocol write mixing them too, then the anomalies, the export and every device's count. Each shard's own counters show that every shard
// took part, stored exactly the records of the devices hashed to it, and that no two writers ever
// met on a series (no commit conflicts).
import { beforeAll, describe, expect, it } from 'vitest'
import { shardOf } from '../../functions/worker/shards.js'
import { nodeRuntime, type RunningRuntime, type Runtime, workerdRuntime } from '../runtimes.js'
import { MIXED, mixedRounds, T0 } from './mixed.js'

const INGEST = 'shards-ingest-token-1'
const ADMIN = 'shards-admin-token-1'
const ENV = { EDGEWATCH_INGEST_TOKEN: INGEST, EDGEWATCH_ADMIN_TOKEN: ADMIN }
const ROUNDS = mixedRounds({ ...MIXED, rounds: MIXED.rounds + 1 })
const NDJSON = { 'Content-Type': 'application/x-ndjson' }
/** Line protocol: every device, INFLUX_SAMPLES points each after the rounds, and two refused lines. */
const INFLUX_SAMPLES = 5
const INFLUX = Array.from({ length: INFLUX_SAMPLES }, (_, s) =>
  Array.from(
    { length: MIXED.devices },
    (_, d) =>
      `sensor,device=edge-${d} temp=${(40 + Math.sin(s + d) * 3).toFixed(2)} ${T0 + 3_600_000 + s * 1000}`,
  ).join('\n'),
)
  .concat(['sensor temp=1', 'sensor,device=edge-1 temp='])
  .join('\n')

interface Outcome {
  answers: unknown[]
  /** An Influx line protocol write mixing every device, with lines InfluxDB refuses too. */
  influx: { status: number; body: string }
  keyed: { first: unknown[]; twin: unknown[]; retried: unknown[]; replayed: (string | null)[] }
  anomalies: string[]
  exported: string[]
  devices: Record<string, number>
}

const noIds = (text: string) => JSON.parse(text, (k, v) => (k === 'id' ? undefined : v))

async function exercise(url: string): Promise<Outcome> {
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/v1/ingest`, {
      method: 'POST',
      body,
      headers: { Authorization: `Bearer ${INGEST}`, ...NDJSON, ...headers },
    })
  const get = async (path: string) =>
    (await fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${ADMIN}` } })).text()
  const answers: unknown[] = []
  for (const round of ROUNDS.slice(0, -1)) {
    const res = await Promise.all(round.bodies.map((b) => post(b)))
    for (const r of res) answers.push({ status: r.status, body: noIds(await r.text()) })
  }
  // The last round with keys: each batch twice at the same moment, then once more.
  const keyed = ROUNDS.at(-1)!.bodies
  const key = (b: number) => ({ 'Idempotency-Key': `shards-test-${b}` })
  const twins = await Promise.all(keyed.flatMap((body, b) => [post(body, key(b)), post(body, key(b))]))
  const pairs = await Promise.all(twins.map(async (r) => ({ status: r.status, body: noIds(await r.text()) })))
  const retried = await Promise.all(keyed.map((body, b) => post(body, key(b))))
  const written = await fetch(`${url}/v1/write?db=edge&precision=ms`, {
    method: 'POST',
    body: INFLUX,
    headers: { Authorization: `Token ${INGEST}` },
  })
  const influx = { status: written.status, body: await written.text() }
  const devices = JSON.parse(await get('/v1/devices?limit=1000')) as {
    items: { deviceId: string; recordCount: number }[]
  }
  return {
    answers,
    influx,
    keyed: {
      first: pairs.filter((_, i) => i % 2 === 0),
      twin: pairs.filter((_, i) => i % 2 === 1),
      retried: await Promise.all(
        retried.map(async (r) => ({ status: r.status, body: noIds(await r.text()) })),
      ),
      replayed: retried.map((r) => r.headers.get('idempotent-replayed')),
    },
    anomalies: (await anomaliesOf(get)).map((a) => JSON.stringify(a)).sort(),
    exported: (await get(`/v1/export?since=${T0}`)).split('\n').sort(),
    devices: Object.fromEntries(devices.items.map((d) => [d.deviceId, d.recordCount])),
  }
}

/** Every anomaly, page after page, without ids (each store numbers them in its own commit order). */
async function anomaliesOf(get: (path: string) => Promise<string>): Promise<unknown[]> {
  const items: unknown[] = []
  let next: string | null = null
  do {
    const cursor = next ? `&cursor=${encodeURIComponent(next)}` : ''
    const page = JSON.parse(await get(`/v1/anomalies?limit=1000&since=${T0}${cursor}`)) as {
      items: unknown[]
      next: string | null
    }
    items.push(...page.items.map((a) => noIds(JSON.stringify(a))))
    next = page.next
  } while (next)
  return items
}

/** A counter of one shard's own /metrics. */
async function counter(url: string, shard: number, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics?shard=${shard}`)).text()
  let sum = 0
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))) sum += Number(m[1])
  return sum
}

/** Starts a runtime, runs the input through it, and stops it (one at a time: the machine is shared). */
async function outcomeOf(
  runtime: Runtime,
  env: Record<string, string>,
  after?: (url: string) => Promise<void>,
) {
  let rt: RunningRuntime | undefined
  try {
    rt = await runtime.start({ ...ENV, ...env })
    const outcome = await exercise(rt.url)
    await after?.(rt.url)
    return outcome
  } finally {
    await rt?.stop()
  }
}

describe('Workers shards under miniflare (wrangler dev)', () => {
  let node: Outcome
  let one: Outcome
  let four: Outcome
  const perShard: { ingested: number; conflicts: number }[] = []
  beforeAll(async () => {
    node = await outcomeOf(nodeRuntime, {})
    one = await outcomeOf(workerdRuntime, { EDGEWATCH_SHARDS: '1' })
    four = await outcomeOf(workerdRuntime, { EDGEWATCH_SHARDS: '4' }, async (url) => {
      for (let s = 0; s < 4; s++)
        perShard.push({
          ingested: await counter(url, s, 'edgewatch_records_ingested_total'),
          conflicts: await counter(url, s, 'edgewatch_commit_conflicts_total'),
        })
    })
  }, 400_000)

  it('answers every mixed batch as one shard and the Node server do', () => {
    expect(four.answers).toEqual(node.answers)
    expect(one.answers).toEqual(node.answers)
    const bodies = node.answers.map(
      (a) => (a as { body: { rejectedCount: number; anomalyCount: number } }).body,
    )
    expect(bodies.every((b) => b.rejectedCount > 0 && b.anomalyCount > 0)).toBe(true)
  })

  it('answers an Influx write mixing every device as one shard and the Node server do', () => {
    expect(four.influx).toEqual(node.influx)
    expect(one.influx).toEqual(node.influx)
    expect(node.influx.status).toBe(400) // a partial write: two lines refused, the rest stored
    expect(JSON.parse(node.influx.body)).toMatchObject({
      accepted: INFLUX_SAMPLES * MIXED.devices,
      rejectedCount: 2,
    })
  })

  it('stores what one shard and the Node server store: records, scores, anomalies, counts', () => {
    expect(four.exported).toEqual(node.exported)
    expect(one.exported).toEqual(node.exported)
    expect(four.anomalies).toEqual(node.anomalies)
    expect(one.anomalies).toEqual(node.anomalies)
    expect(four.devices).toEqual(node.devices)
    expect(Object.keys(node.devices)).toHaveLength(MIXED.devices)
  })

  it('answers a keyed batch the same however often and however concurrently it is sent, and stores it once', () => {
    for (const o of [node, one, four]) {
      expect(o.keyed.twin).toEqual(o.keyed.first)
      expect(o.keyed.retried).toEqual(o.keyed.first)
      expect(o.keyed.replayed).toEqual(o.keyed.first.map(() => 'true'))
    }
    expect(four.keyed.first).toEqual(node.keyed.first)
    // Stored once: the device counts above equal the Node server's, which stores a key once.
    const rows = ROUNDS.length * MIXED.samples + INFLUX_SAMPLES
    for (const count of Object.values(four.devices)) expect(count).toBe(rows)
  })

  it('spreads the records over every shard, and no two shards ever wrote one series', () => {
    const accepted = [...four.answers, ...four.keyed.first].reduce<number>(
      (n, a) => n + (a as { body: { accepted: number } }).body.accepted,
      INFLUX_SAMPLES * MIXED.devices,
    )
    expect(perShard.reduce((n, s) => n + s.ingested, 0)).toBe(accepted)
    // Each shard stored exactly the records of the devices whose ids hash to it.
    const owned = [0, 0, 0, 0]
    for (const [device, count] of Object.entries(four.devices)) owned[shardOf(device, 4)]! += count
    expect(perShard.map((s) => s.ingested)).toEqual(owned)
    for (const s of perShard) {
      expect(s.ingested).toBeGreaterThan(0)
      expect(s.conflicts).toBe(0)
    }
  })
})
