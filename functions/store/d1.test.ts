// The store contract against Cloudflare D1, run locally by miniflare (workerd's D1 simulator).
import { Miniflare } from 'miniflare'
import { afterAll, beforeAll } from 'vitest'
import { type D1Database, openD1Store } from './sql-store.js'
import { storeContract } from './store-contract.js'

let mf: Miniflare
let db: D1Database
beforeAll(async () => {
  mf = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response(null, { status: 204 }) } }',
    d1Databases: { DB: 'edgewatch-contract' },
  })
  db = (await mf.getD1Database('DB')) as unknown as D1Database
})
afterAll(async () => {
  await mf.dispose()
})

/** A fresh store: every table dropped, then migrated again. */
async function fresh() {
  const { results } = await db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
    )
    .all<{ name: string }>()
  if (results.length > 0) await db.batch(results.map((r) => db.prepare(`DROP TABLE "${r.name}"`)))
  return openD1Store(db)
}

storeContract('d1', fresh)
