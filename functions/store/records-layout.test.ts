// Records in chunks answer exactly what the one-row-per-record layout answered: the golden answers
// (golden/records-v5.json) were recorded from schema 5 before chunks existed, for a fixed history
// (golden/records-input.ts). Checked on a new database, and on a schema-5 database holding that
// history as rows, migrated to chunks.
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import type { StoredRecord } from '../domain/types.js'
import { GOLDEN_EXPORTS, GOLDEN_RECENT, goldenCommits } from './golden/records-input.js'
import type { IngestCommit, Store } from './port.js'
import { joinKinds } from './rows.js'
import { CREATE_MIGRATIONS_TABLE, MIGRATIONS } from './schema.js'
import { SQL } from './sql.js'
import { openSqliteStore } from './sqlite.js'
import { batch, collect, entry } from './store-fixtures.js'

const golden = JSON.parse(
  readFileSync(new URL('./golden/records-v5.json', import.meta.url), 'utf8'),
) as Record<string, { n: number[]; sha256: string }>

const dir = mkdtempSync(join(tmpdir(), 'edgewatch-layout-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** What the golden file keeps of an answer: the records' `n` in order, and a hash of all but ids. */
function digest(records: StoredRecord[]) {
  const plain = records.map(({ id: _, ...rest }) => rest)
  return {
    n: plain.map((r) => (JSON.parse(r.body) as { n: number }).n),
    sha256: createHash('sha256').update(JSON.stringify(plain)).digest('hex'),
  }
}

async function expectGolden(store: Store): Promise<void> {
  for (const [name, query] of Object.entries(GOLDEN_EXPORTS)) {
    expect(digest(await collect(store.exportRecords(query))), `export ${name}`).toEqual(
      golden[`export ${name}`],
    )
  }
  for (const [device, metric, limit, since] of GOLDEN_RECENT) {
    const key = `recent ${device} ${metric} ${limit} ${since}`
    expect(digest(await store.recentRecords(device, metric, limit, since)), key).toEqual(golden[key])
  }
}

/** A schema-5 database holding the history as rows, as that build's commits wrote them. */
function schema5(path: string, commits: IngestCommit[] = goldenCommits()): void {
  const db = new Database(path)
  db.exec(CREATE_MIGRATIONS_TABLE)
  for (const migration of MIGRATIONS.filter((m) => m.version <= 5)) {
    for (const statement of migration.statements) db.exec(statement)
    db.prepare(SQL.recordMigration).run(migration.version, 0)
  }
  const insert = db.prepare(
    'INSERT INTO records (device_id, ts, ingested_at, level, score, kinds, body) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  db.transaction(() => {
    for (const commit of commits) {
      for (const { record: r, score, kinds } of commit.records) {
        insert.run(r.deviceId, r.ts, commit.receivedAt, r.level ?? null, score, joinKinds(kinds), r.body)
      }
    }
  })()
  db.close()
}

describe('records in chunks', () => {
  it('answer every export and series query as the row layout did, on a new database', async () => {
    const store = openSqliteStore(join(dir, 'new.db'))
    for (const commit of goldenCommits()) await store.commitIngest(commit)
    await expectGolden(store)
    await store.close()
  })

  it('migrate a body that holds a raw newline as it was', async () => {
    const path = join(dir, 'newline.db')
    schema5(path, [
      batch(1, { records: [entry('a', 1, { n: 1 }), entry('a', 2, { n: 2 })] }),
      batch(2, { records: [entry('a', 3, { n: 3 })] }),
    ])
    const db = new Database(path)
    db.prepare("UPDATE records SET body = replace(body, ',', ',' || char(10)) WHERE ts = 2").run()
    db.close()
    const store = openSqliteStore(path)
    const bodies = (await collect(store.exportRecords({}))).map((r) => r.body)
    expect(bodies).toEqual([
      entry('a', 1, { n: 1 }).record.body,
      entry('a', 2, { n: 2 }).record.body.replaceAll(',', ',\n'),
      entry('a', 3, { n: 3 }).record.body,
    ])
    await store.close()
  })

  it('migrate a row-layout database without losing or reordering a record', async () => {
    const path = join(dir, 'v5.db')
    schema5(path)
    const store = openSqliteStore(path)
    await expectGolden(store)
    // The rows went into chunks and the rows' table is gone.
    const db = new Database(path, { readonly: true })
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all()
    expect(tables).not.toContain('records')
    const chunks = db.prepare('SELECT count(*) AS chunks, sum(count) AS records FROM record_chunks').get()
    db.close()
    const total = goldenCommits().reduce((n, c) => n + c.records.length, 0)
    expect(chunks).toMatchObject({ records: total })
    expect((chunks as { chunks: number }).chunks).toBeLessThan(total / 5)
    // New commits come after the migrated records in arrival order.
    await store.commitIngest({ ...goldenCommits()[0]!, records: [entry('a', 0, { n: -1 })] })
    const arrival = await collect(store.exportRecords({ order: 'arrival' }))
    expect(arrival).toHaveLength(total + 1)
    expect(JSON.parse(arrival[total]!.body)).toMatchObject({ n: -1 })
    await store.close()
  })
})
