// Migrations through the D1-shaped API (what D1 and Spin run), when several instances start at once.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { MIGRATIONS } from './schema.js'
import { SQL } from './sql.js'
import { migrateD1 } from './sql-store.js'
import { sqliteAsD1 } from './sqlite.js'

const dir = mkdtempSync(join(tmpdir(), 'edgewatch-migrate-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('migrateD1', () => {
  it('lets instances that start at once all succeed, each migration applied once', async () => {
    const path = join(dir, 'race.db')
    const connections = Array.from({ length: 4 }, () => new Database(path))
    // Each instance reads the applied versions before any of them migrates: every one finds the
    // database empty and tries every migration; all but the first find them applied meanwhile.
    await Promise.all(connections.map((db) => migrateD1(sqliteAsD1(db))))
    const versions = connections[0]!.prepare(SQL.appliedMigrations).pluck().all()
    expect(versions).toEqual(MIGRATIONS.map((m) => m.version))
    for (const db of connections) db.close()
  })

  it('still fails on a migration that fails for another reason', async () => {
    const db = new Database(join(dir, 'broken.db'))
    db.exec('CREATE TABLE records (id INTEGER PRIMARY KEY)') // in the way of migration 1
    await expect(migrateD1(sqliteAsD1(db))).rejects.toThrow(/already exists/)
    db.close()
  })
})
