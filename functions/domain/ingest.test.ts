import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Kernel } from '../../kernels/host/kernel.js'
import { loadNodeKernel } from '../../kernels/node.js'
import type { ApiError } from '../http/errors.js'
import { Metrics } from '../observability/metrics.js'
import { CommitConflictError, emptyCommit, type IngestCommit, type Store, seriesKey } from '../store/port.js'
import { openSqliteStore } from '../store/sqlite.js'
import { LIVE, seriesState } from '../store/store-fixtures.js'
import { wrapStore } from '../store/wrap.js'
import { Analyser } from './analyse.js'
import { resolveAnalysisConfig } from './analysis-config.js'
import { type IngestAnswer, type IngestOptions, Ingestor } from './ingest.js'
import { REJECTIONS_KEPT } from './ingest-body.js'
import type { IngestInput } from './ingest-prepare.js'
import { SeriesCache } from './series-cache.js'

let kernel: Kernel
const dir = mkdtempSync(join(tmpdir(), 'edgewatch-ingest-'))
beforeAll(async () => {
  kernel = await loadNodeKernel()
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const T0 = 1_800_000_000_000
const encoder = new TextEncoder()

function input(text: string, key?: string): IngestInput {
  const bytes = encoder.encode(text)
  return { text, bytes, format: 'ndjson', contentType: 'application/x-ndjson', idempotencyKey: key }
}

/** NDJSON of `n` samples of one series, from sample `from` on (a sine with a jump at 150). */
function samples(device: string, from: number, n: number): string {
  return Array.from({ length: n }, (_, i) => {
    const k = from + i
    return JSON.stringify({ deviceId: device, ts: T0 + k * 1000, v: Math.sin(k / 7) + (k === 150 ? 30 : 0) })
  }).join('\n')
}

interface Harness {
  ingestor: Ingestor
  store: Store
  metrics: Metrics
  warnings: string[]
  clock: { now: number }
}

function harness(store: Store = openSqliteStore(':memory:'), options: Partial<IngestOptions> = {}): Harness {
  const metrics = new Metrics()
  const warnings: string[] = []
  const clock = { now: T0 }
  const ingestor = new Ingestor(
    store,
    new Analyser(kernel, resolveAnalysisConfig({})),
    metrics,
    () => clock.now,
    {
      maxQueuedRecords: 100_000,
      idempotencyTtlMs: 3_600_000,
      warn: (msg) => warnings.push(msg),
      ...options,
    },
  )
  return { ingestor, store, metrics, warnings, clock }
}

/** The store with its commit replaced. */
function withCommit(store: Store, commit: (batch: IngestCommit) => Promise<void>): Store {
  return wrapStore(store, (op, method) =>
    op === 'commitIngest' ? (commit as unknown as typeof method) : method,
  )
}

/** A store that fails commits holding a record of `device`. */
function failingFor(store: Store, device: string, error: () => Error): Store {
  return withCommit(store, async (batch) => {
    if (batch.records.some((r) => r.record.deviceId === device)) throw error()
    return store.commitIngest(batch)
  })
}

const outcome = (p: Promise<IngestAnswer>) =>
  p.then(
    (a) => ({ status: a.status as number, body: JSON.parse(a.body) as Record<string, unknown> }),
    (e: ApiError) => ({ status: e.status as number, code: e.code, headers: e.headers }),
  )

const stored = async (store: Store, device: string) => (await store.getDevice(device, LIVE))?.recordCount ?? 0

describe('the ingest path', () => {
  it('keeps the first rejections as dead letters, and the whole body in one more when there are more', async () => {
    const h = harness()
    const junk = Array.from({ length: 5000 }, () => 'x').join('\n')
    const answer = await outcome(h.ingestor.ingest(input(`${junk}\n{"deviceId":"ok","v":1}`)))
    expect(answer).toMatchObject({ status: 200, body: { accepted: 1, rejectedCount: 5000 } })
    expect('body' in answer && answer.body.rejected).toHaveLength(REJECTIONS_KEPT)
    const letters = (await h.store.listDeadLetters({ limit: 1000 })).items
    expect(letters).toHaveLength(REJECTIONS_KEPT + 1)
    expect(letters[0]).toMatchObject({ position: 'body', reason: expect.stringMatching(/^5000 entries/) })
    expect(letters[0]!.raw).toBe(`${junk}\n{"deviceId":"ok","v":1}`)
  })

  it('cuts a long dead letter, keeping the size and sha256 of the whole', async () => {
    const h = harness()
    const huge = `{"deviceId":"x","msg":"${'é'.repeat(300_000)}"}`
    await outcome(h.ingestor.ingest(input(huge)))
    const [letter] = (await h.store.listDeadLetters({ limit: 1 })).items
    expect(letter!.raw).toHaveLength(256 * 1024)
    expect(letter!.truncated).toEqual({
      bytes: encoder.encode(huge).byteLength,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    })
  })

  it('fails only the request whose commit fails; the rest of its group commits', async () => {
    const h = harness(failingFor(openSqliteStore(':memory:'), 'bad', () => new Error('disk I/O error')))
    const answers = await Promise.all(
      ['a', 'bad', 'b', 'c'].map((d) => outcome(h.ingestor.ingest(input(samples(d, 0, 50))))),
    )
    expect(answers.map((a) => a.status)).toEqual([200, 500, 200, 200])
    expect(answers[1]).toMatchObject({ code: 'commit_failed' })
    expect(await Promise.all(['a', 'bad', 'b', 'c'].map((d) => stored(h.store, d)))).toEqual([50, 0, 50, 50])
    expect(h.warnings).toContain('group commit failed; its requests run one by one')
  })

  it('fails only the request that cannot be analysed', async () => {
    const h = harness()
    const broken: Kernel = {
      run: (state, ts, values, params) => {
        if (values.some((v) => v === 12345)) throw new Error('kernel trap')
        return kernel.run(state, ts, values, params)
      },
    }
    const ingestor = new Ingestor(
      h.store,
      new Analyser(broken, resolveAnalysisConfig({})),
      h.metrics,
      Date.now,
      {
        maxQueuedRecords: 1000,
        idempotencyTtlMs: 1000,
        warn: () => {},
      },
    )
    const answers = await Promise.all([
      outcome(ingestor.ingest(input('{"deviceId":"a","v":1}'))),
      outcome(ingestor.ingest(input('{"deviceId":"b","v":12345}'))),
      outcome(ingestor.ingest(input('{"deviceId":"c","v":2}'))),
    ])
    expect(answers.map((a) => a.status)).toEqual([200, 500, 200])
    expect(answers[1]).toMatchObject({ code: 'analysis_failed' })
    expect([await stored(h.store, 'a'), await stored(h.store, 'b'), await stored(h.store, 'c')]).toEqual([
      1, 0, 1,
    ])
  })

  it('restarts a series whose stored state is unreadable, with a warning and a counter', async () => {
    const store = openSqliteStore(':memory:')
    await store.commitIngest({
      ...emptyCommit(1),
      states: [seriesState('s', 'v', new Uint8Array(40).fill(9))],
    })
    const h = harness(store)
    const answer = await outcome(h.ingestor.ingest(input(samples('s', 0, 200))))
    expect(answer.status).toBe(200)
    const fresh = harness()
    expect(answer).toEqual(await outcome(fresh.ingestor.ingest(input(samples('s', 0, 200)))))
    expect(h.warnings).toEqual(['unreadable series state: the series restarts'])
    expect(h.metrics.seriesRestarted.get()).toBe(1)
    const state = (await store.loadStates([{ deviceId: 's', metric: 'v' }])).get(seriesKey('s', 'v'))!
    expect(state).toMatchObject({ sampleCount: 200, version: 2 })
  })

  it('replays an Idempotency-Key with the same body, refuses it with another, forgets it after the TTL', async () => {
    const h = harness()
    const first = await outcome(h.ingestor.ingest(input(samples('k', 0, 3), 'key-1')))
    expect(await outcome(h.ingestor.ingest(input(samples('k', 0, 3), 'key-1')))).toEqual(first)
    expect(await outcome(h.ingestor.ingest(input(samples('k', 3, 3), 'key-1')))).toMatchObject({
      status: 422,
      code: 'idempotency_key_reused',
    })
    // Two requests with one key and different bodies in the same group: the second is refused too.
    const [a, b] = await Promise.all([
      outcome(h.ingestor.ingest(input(samples('k2', 0, 2), 'key-2'))),
      outcome(h.ingestor.ingest(input(samples('k2', 2, 2), 'key-2'))),
    ])
    expect([a.status, b.status]).toEqual([200, 422])
    expect(await stored(h.store, 'k')).toBe(3)
    expect(await stored(h.store, 'k2')).toBe(2)
    h.clock.now += 3_600_001
    expect(await outcome(h.ingestor.ingest(input(samples('k', 3, 3), 'key-1')))).toMatchObject({
      status: 200,
    })
    expect(await stored(h.store, 'k')).toBe(6)
  })

  it('refuses work past its bound at once (503 overloaded, Retry-After) and loses nothing it accepted', async () => {
    let open = () => {}
    const gate = { promise: new Promise<void>((r) => (open = r)), resolve: () => open() }
    const base = openSqliteStore(':memory:')
    const slow = withCommit(base, async (batch) => {
      await gate.promise
      return base.commitIngest(batch)
    })
    const h = harness(slow, { maxQueuedRecords: 250 })
    const pending = [0, 1, 2].map((i) => outcome(h.ingestor.ingest(input(samples(`q${i}`, 0, 100)))))
    await new Promise((r) => setTimeout(r, 50))
    gate.resolve()
    const answers = await Promise.all(pending)
    expect(answers.map((a) => a.status)).toEqual([200, 200, 503])
    expect(answers[2]).toMatchObject({ code: 'overloaded', headers: { 'Retry-After': '1' } })
    expect(h.metrics.overloaded.get({ bound: 'queued_records' })).toBe(1)
    expect(await Promise.all([0, 1, 2].map((i) => stored(base, `q${i}`)))).toEqual([100, 100, 0])
    // A lone request larger than the bound still goes through.
    expect((await outcome(h.ingestor.ingest(input(samples('big', 0, 400))))).status).toBe(200)
  })

  it('reloads and analyses again when another writer committed first, and gives up after 8 tries', async () => {
    let conflicts = 1
    const base = openSqliteStore(':memory:')
    const racing = withCommit(base, async (batch) => {
      if (conflicts-- > 0) throw new CommitConflictError('another writer')
      return base.commitIngest(batch)
    })
    const h = harness(racing)
    expect((await outcome(h.ingestor.ingest(input(samples('r', 0, 10))))).status).toBe(200)
    expect(h.metrics.commitConflicts.get()).toBe(1)
    conflicts = 100
    expect(await outcome(h.ingestor.ingest(input(samples('r', 10, 10))))).toMatchObject({
      status: 503,
      code: 'conflict',
    })
    expect(await stored(base, 'r')).toBe(10)
  })

  it('gives two writers on one database exactly the verdicts of one serial writer', async () => {
    const path = join(dir, 'two-writers.db')
    // Two processes in all but name: each has its own connection and state cache.
    const one = harness(openSqliteStore(path), { cache: new SeriesCache(100) })
    const two = harness(openSqliteStore(path), { cache: new SeriesCache(100) })
    const serial = harness()
    const batches = Array.from({ length: 12 }, (_, b) => samples('shared', b * 25, 25))
    const interleaved: unknown[] = []
    for (const [b, body] of batches.entries()) {
      // Batch b goes to writer b % 2, two at a time, so each writer's cached state goes stale.
      interleaved.push(await outcome((b % 2 ? two : one).ingestor.ingest(input(body))))
    }
    const expected = []
    for (const body of batches) expected.push(await outcome(serial.ingestor.ingest(input(body))))
    expect(interleaved).toEqual(expected)
    expect(one.metrics.commitConflicts.get() + two.metrics.commitConflicts.get()).toBeGreaterThan(0)
    await one.store.close()
    await two.store.close()
    const reader = openSqliteStore(path)
    const state = (await reader.loadStates([{ deviceId: 'shared', metric: 'v' }])).get(
      seriesKey('shared', 'v'),
    )
    expect(state).toMatchObject({ sampleCount: 300, version: 12 })
    await reader.close()
  })
})
