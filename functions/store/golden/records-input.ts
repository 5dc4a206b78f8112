// A fixed ingest history for the record layout tests: commits whose records tie on time across
// devices, arrive out of time order, span hours, carry metrics top-level and under `metrics`, odd
// text, and bodies large enough to fill several chunks. records-v5.json holds what the store
// answered for it before records were stored in chunks (schema 5), so any later layout must answer
// the same (records-layout.test.ts).
import type { Level } from '../../domain/types.js'
import type { ExportQuery, IngestCommit } from '../port.js'
import { batch, type Entry } from '../store-fixtures.js'

const T0 = Date.UTC(2026, 10, 1, 10, 0, 0)
const LEVELS: (Level | undefined)[] = ['info', undefined, 'warn', 'error', 'debug']

/** A deterministic pseudo-random sequence (no Math.random: the golden file must not change). */
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

function record(deviceId: string, ts: number, i: number, rand: () => number, pad = 0): Entry {
  const fields: Record<string, unknown> = { deviceId, ts, n: i }
  if (i % 3 === 0) fields.temp = Math.round(rand() * 10_000) / 100
  else fields.metrics = { temp: rand() * 50, 'dotted.name': i, 'quote"d': -i }
  if (i % 7 === 0) fields.msg = `line ${i} \u00e9\u4e2d\ud83d\ude00 "quoted" \\ back\nslash`
  if (i % 11 === 0) fields.temp = 'not a number'
  if (pad > 0) fields.pad = 'x'.repeat(pad)
  const kinds = i % 5 === 0 ? ['spike'] : i % 13 === 0 ? ['spike', 'level_shift'] : []
  return {
    record: {
      deviceId,
      ts,
      level: LEVELS[i % LEVELS.length],
      msg: undefined,
      metrics: [],
      body: JSON.stringify(fields),
    },
    score: i % 4 === 0 ? 0 : rand(),
    kinds,
  }
}

export function goldenCommits(): IngestCommit[] {
  const rand = lcg(42)
  const commits: IngestCommit[] = []
  let i = 0
  // 1. Three devices interleaved, the same timestamps across devices, 1 s apart.
  const first: Entry[] = []
  for (let k = 0; k < 60; k++) {
    for (const d of ['a', 'b', 'c']) first.push(record(d, T0 + Math.floor(k / 2) * 1000, i++, rand))
  }
  commits.push(batch(T0 + 60_000, { records: first }))
  // 2. Out of time order, some hours back and some ahead, ties with the first commit.
  const second: Entry[] = []
  for (let k = 0; k < 90; k++) {
    const d = ['b', 'a', 'd'][k % 3]!
    const offset = k % 4 === 0 ? -3 * 3_600_000 + k * 1000 : k % 4 === 1 ? k * 1000 : 5 * 3_600_000 - k * 997
    second.push(record(d, T0 + offset, i++, rand))
  }
  commits.push(batch(T0 + 120_000, { records: second }))
  // 3. Large bodies: one device's records fill several chunks; another device between them.
  const third: Entry[] = []
  for (let k = 0; k < 400; k++) {
    const d = k % 10 === 9 ? 'a' : 'big'
    third.push(record(d, T0 + 60_000 + k * 250, i++, rand, 2000))
  }
  commits.push(batch(T0 + 180_000, { records: third }))
  // 4. Many small commits of one record each, the arrival order of a live fleet.
  for (let k = 0; k < 40; k++) {
    const d = ['a', 'c'][k % 2]!
    commits.push(batch(T0 + 240_000 + k, { records: [record(d, T0 + 30_000 + k * 500, i++, rand)] }))
  }
  // 5. A long commit: 2,600 records of two devices, past the export page size.
  const fifth: Entry[] = []
  for (let k = 0; k < 2600; k++)
    fifth.push(record(k % 2 ? 'e' : 'f', T0 + 400_000 + (k >> 1) * 100, i++, rand))
  commits.push(batch(T0 + 300_000, { records: fifth }))
  return commits
}

const SINCE = T0 + 10_000
const UNTIL = T0 + 420_000

/** The exports the golden file answers. */
export const GOLDEN_EXPORTS: Record<string, ExportQuery> = {
  all: {},
  arrival: { order: 'arrival' },
  deviceA: { deviceId: 'a' },
  deviceBig: { deviceId: 'big' },
  range: { since: SINCE, until: UNTIL },
  deviceRange: { deviceId: 'a', since: SINCE, until: UNTIL },
  arrivalRange: { order: 'arrival', deviceId: 'a', since: SINCE },
  nothing: { deviceId: 'nobody' },
  before: { until: T0 - 3_600_000 },
}

/** The recentRecords calls the golden file answers: device, metric, limit, since. */
export const GOLDEN_RECENT: [string, string, number, number][] = [
  ['a', 'temp', 5, 0],
  ['a', 'temp', 500, T0],
  ['b', 'dotted.name', 10, 0],
  ['c', 'quote"d', 3, SINCE],
  ['big', 'temp', 50, 0],
  ['e', 'temp', 1000, 0],
  ['a', 'pad', 10, 0],
  ['a', 'missing', 10, 0],
  ['nobody', 'temp', 10, 0],
]
