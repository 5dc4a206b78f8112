import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Store, seriesKey } from './port.js'
import { MIGRATIONS } from './schema.js'
import { chunksByArrivalSql, chunksByTimeSql, chunksNewestFirstSql, exportWindowsSql, SQL } from './sql.js'
import { openSqliteStore } from './sqlite.js'
import { storeContract } from './store-contract.js'
import {
  anomaly,
  answer,
  batch,
  collect,
  deadLetter,
  entry,
  LIVE,
  recordId,
  seriesState,
  window,
} from './store-fixtures.js'

const dir = mkdtempSync(join(tmpdir(), 'edgewatch-store-'))
let files = 0
const newPath = () => join(dir, `store-${++files}.db`)
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// A file's ingest commits run on the writer thread by default; the event-loop commit stays covered too.
storeContract('sqlite', async () => openSqliteStore(newPath()))
storeContract('sqlite, commits on the event loop', async () =>
  openSqliteStore(newPath(), { writerThread: false }),
)

/** A batch touching every table, so a leftover of a failed commit would show somewhere. */
function fullBatch(at: number) {
  return batch(at, {
    records: Array.from({ length: 250 }, (_, i) => entry('d', i, { temp: i })),
    anomalies: [anomaly('d', 1)],
    windows: [window('d', 'temp', 60_000)],
    // Each batch advances the series once more: the state read at version at - 1.
    states: [seriesState('d', 'temp', [1, 2], { lastTs: 249, sampleCount: 250, version: at - 1 })],
    deadLetters: [deadLetter(at)],
    idempotency: [answer(`k${at}`, 202, 'ok')],
  })
}

async function expectEmpty(store: Store): Promise<void> {
  expect(await collect(store.exportRecords({}))).toEqual([])
  expect((await store.listAnomalies({ limit: 5 })).items).toEqual([])
  expect(await store.recentWindows('d', 'temp', 5, 0)).toEqual([])
  expect((await store.loadStates([{ deviceId: 'd', metric: 'temp' }])).size).toBe(0)
  expect((await store.listDeadLetters({ limit: 5 })).items).toEqual([])
  expect((await store.listDevices({ limit: 5, liveness: LIVE })).items).toEqual([])
  expect(await store.findIdempotent('k1', 0)).toBeUndefined()
}

describe('sqlite store', () => {
  it('commits all or nothing: an anomaly that cannot be stored leaves nothing behind', async () => {
    const store = openSqliteStore(newPath())
    const bad = fullBatch(1)
    // The record chunks and the commit number were written when the anomalies' INSERT fails.
    bad.anomalies = [anomaly('d', 1, 'spike', { detail: { not: 'a string' } as unknown as string })]
    await expect(store.commitIngest(bad)).rejects.toThrow()
    await expectEmpty(store)
    // The connection is still usable, and the rolled-back commit number is taken again.
    await store.commitIngest(fullBatch(1))
    expect((await collect(store.exportRecords({})))[0]!.id).toBe(recordId(1, 0))
    await store.close()
  })

  it('commits all or nothing: a failure in the last table written leaves nothing behind', async () => {
    const store = openSqliteStore(newPath())
    const bad = fullBatch(1)
    bad.idempotency = [answer('k1', 202, null as unknown as string)]
    await expect(store.commitIngest(bad)).rejects.toThrow(/NOT NULL/)
    await expectEmpty(store)
    await store.close()
  })

  it('keeps everything across a restart, without re-running migrations', async () => {
    const path = newPath()
    const first = openSqliteStore(path)
    await first.commitIngest(fullBatch(1))
    await first.close()
    const before = new Database(path, { readonly: true })
    const migrations = before
      .prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version')
      .all()
    before.close()
    expect(migrations.map((m) => (m as { version: number }).version)).toEqual(
      MIGRATIONS.map((m) => m.version),
    )

    const second = openSqliteStore(path)
    expect(await collect(second.exportRecords({}))).toHaveLength(250)
    expect(await second.getDevice('d', LIVE)).toMatchObject({ recordCount: 250, anomalyCount: 1 })
    expect(
      (await second.loadStates([{ deviceId: 'd', metric: 'temp' }])).get(seriesKey('d', 'temp'))?.state,
    ).toEqual(new Uint8Array([1, 2]))
    expect(await second.findIdempotent('k1', 0)).toEqual(answer('k1', 202, 'ok'))
    await second.commitIngest(fullBatch(2))
    expect(await second.getDevice('d', LIVE)).toMatchObject({ recordCount: 500, firstSeen: 1, lastSeen: 2 })
    await second.close()

    const after = new Database(path, { readonly: true })
    expect(after.prepare('SELECT version, applied_at FROM schema_migrations ORDER BY version').all()).toEqual(
      migrations,
    )
    expect(after.pragma('journal_mode', { simple: true })).toBe('wal')
    after.close()
  })

  it('refuses a file migrated by a newer build', async () => {
    const path = newPath()
    await openSqliteStore(path).close()
    const db = new Database(path)
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)').run()
    db.close()
    expect(() => openSqliteStore(path)).toThrow(/unknown schema versions 999/)
  })

  it('lets two connections to one file write in turn and see each other', async () => {
    const path = newPath()
    const a = openSqliteStore(path)
    const b = openSqliteStore(path)
    await a.commitIngest(fullBatch(1))
    await b.commitIngest(fullBatch(2))
    expect(await a.getDevice('d', LIVE)).toMatchObject({ recordCount: 500 })
    await a.close()
    await b.close()
  })

  it('runs commits sent at once on the writer thread in the order sent, each readable once it resolves', async () => {
    const store = openSqliteStore(newPath())
    const done: number[] = []
    const commits = [1, 2, 3, 4].map((at) =>
      store.commitIngest(fullBatch(at)).then(async () => {
        done.push(at)
        // Its records are readable; later commits may have landed too by the time this reads.
        expect((await store.getDevice('d', LIVE))!.recordCount).toBeGreaterThanOrEqual(250 * at)
      }),
    )
    await Promise.all(commits)
    expect(done).toEqual([1, 2, 3, 4])
    await store.close()
    await expect(store.commitIngest(fullBatch(5))).rejects.toThrow(/writer thread/)
  })
})

describe('schema', () => {
  it('has strictly increasing migration versions', () => {
    const versions = MIGRATIONS.map((m) => m.version)
    expect(versions).toEqual([...versions].sort((x, y) => x - y))
    expect(new Set(versions).size).toBe(versions.length)
  })

  it('indexes record chunks by time and by device, and windows on (end) only, to keep inserts fast', async () => {
    const path = newPath()
    await openSqliteStore(path).close()
    const db = new Database(path, { readonly: true })
    const list = (table: string) => db.prepare(`SELECT name FROM pragma_index_list('${table}')`).pluck().all()
    const columns = (index: string) =>
      db.prepare(`SELECT name FROM pragma_index_info('${index}')`).pluck().all()
    expect(list('record_chunks')).toEqual(['record_chunks_device', 'record_chunks_ts'])
    expect(columns('record_chunks_ts')).toEqual(['ts_min'])
    expect(columns('record_chunks_device')).toEqual(['device_id', 'ts_min'])
    expect(list('windows')).toEqual(['windows_end'])
    expect(columns('windows_end')).toEqual(['end'])
    db.close()
  })
})

describe('query plans', () => {
  // With only time indexes, a plan that stops using them scans the whole table (or sorts it):
  // these pin the plans so that a schema or SQL change cannot fall back silently.
  const path = newPath()
  let db: Database.Database
  beforeAll(async () => {
    const store = openSqliteStore(path)
    await store.commitIngest(fullBatch(1))
    await store.close()
    db = new Database(path, { readonly: true })
  })
  afterAll(() => db.close())

  const plan = ({ sql, params }: { sql: string; params: unknown[] }): string[] =>
    db
      .prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...params)
      .map((row) => (row as { detail: string }).detail)
  /**
   * The plan reads the table through the index, in the index's order (no sort step), and ranges it
   * on exactly `range` (e.g. `ts>?`), or scans all of it when `range` is undefined.
   */
  const expectIndexed = (steps: string[], table: string, index: string, range?: string): void => {
    const all = steps.join(' | ')
    const step = steps.find((s) => s.startsWith(`SCAN ${table}`) || s.startsWith(`SEARCH ${table}`))
    expect(step, all).toBe(
      range === undefined
        ? `SCAN ${table} USING INDEX ${index}`
        : `SEARCH ${table} USING INDEX ${index} (${range})`,
    )
    expect(all).not.toMatch(/TEMP B-TREE/)
  }

  it("reads a device's recent chunks through record_chunks_device, newest first, from since on", () => {
    const steps = plan(chunksNewestFirstSql('d', 0, { tsMin: 9, id: 9 }, 10))
    const range = 'device_id=? AND ts_min>? AND (ts_min,rowid)<(?,?)'
    expectIndexed(steps, 'record_chunks', 'record_chunks_device', range)
  })

  it('exports windows through windows_end in (end, rowid) order from the keyset', () => {
    const steps = plan(exportWindowsSql({ deviceId: 'd', until: 9 }, { end: 5, rowid: 7 }, 1000))
    expectIndexed(steps, 'windows', 'windows_end', '(end,rowid)>(?,?) AND end<?')
  })

  it('reads recent windows of a series through windows_end, newest first, from since on', () => {
    const steps = plan({ sql: SQL.recentWindows, params: ['d', 'temp', 0, 10] })
    expectIndexed(steps, 'windows', 'windows_end', 'end>?')
  })

  it('exports through record_chunks_ts (or _device) in (ts_min, id) order from the keyset', () => {
    const page = (query: Parameters<typeof chunksByTimeSql>[0]) =>
      plan(chunksByTimeSql(query, { tsMin: 5, id: 7 }, 1000))
    const range = '(ts_min,rowid)>(?,?)'
    expectIndexed(page({}), 'record_chunks', 'record_chunks_ts', range)
    expectIndexed(page({ since: 1, until: 9 }), 'record_chunks', 'record_chunks_ts', range + ' AND ts_min<?')
    expectIndexed(
      page({ deviceId: 'd' }),
      'record_chunks',
      'record_chunks_device',
      'device_id=? AND ' + range,
    )
    expectIndexed(
      page({ deviceId: 'd', since: 1, until: 9 }),
      'record_chunks',
      'record_chunks_device',
      'device_id=? AND ' + range + ' AND ts_min<?',
    )
  })

  it('exports in arrival order by walking the rowid, whatever the filters', () => {
    for (const query of [{}, { deviceId: 'd', since: 1, until: 9 }]) {
      expect(plan(chunksByArrivalSql(query, 7, 1000)).join(' | ')).toMatch(
        /^SEARCH record_chunks USING INTEGER PRIMARY KEY \(rowid>\?\)$/,
      )
    }
  })
})
