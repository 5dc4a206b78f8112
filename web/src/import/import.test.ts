import 'fake-indexeddb/auto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { DatasetStore } from '../store/datasets.js'
import { type ImportSource, importRows } from './import.js'
import { pullSource } from './server-export.js'

let store: DatasetStore
let name = 0
beforeEach(async () => {
  store = await DatasetStore.open(`import-test-${name++}`)
})
afterEach(() => store.close())

const streamOf = (text: string) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode(text))
      c.close()
    },
  })
const file = (text: string, name = 'f.ndjson'): ImportSource => ({
  stream: streamOf(text),
  name,
  source: name,
  fromServer: false,
  totalBytes: text.length,
})

/** Export lines as the server writes them, then the given last line. */
const exported = (records: number, last?: object) =>
  [
    ...Array.from({ length: records }, (_, i) =>
      JSON.stringify({
        deviceId: 'p',
        ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        temp: i,
        score: 0.1,
        anomalies: '',
      }),
    ),
    ...(last ? [JSON.stringify(last)] : []),
  ].join('\n') + '\n'
const footer = (records: number) => ({ export: { complete: true, records } })
const failed = { error: { code: 'export_failed', message: 'disk I/O error', details: { records: 2 } } }

describe('importing device ids', () => {
  it('keeps a CSV device id as written (007, 1e3, 42)', async () => {
    const d = await importRows(store, file('ts,device,temp\n1,007,1\n2,1e3,2\n3, 42 ,3\n', 'ids.csv'))
    expect(d.devices).toEqual(['007', '1e3', '42'])
    const [chunk] = await store.chunks(d.id)
    expect(chunk!.body.map((b) => (JSON.parse(b) as { deviceId: string }).deviceId)).toEqual([
      '007',
      '1e3',
      '42',
    ])
  })
})

describe('importing a saved server export', () => {
  it('takes the footer as the end, not as a record or a problem', async () => {
    const d = await importRows(store, file(exported(3, footer(3))))
    expect(d).toMatchObject({ records: 3, invalid: 0, problems: [], complete: true })
  })

  it('fails on the server error line, with its message, and leaves nothing behind', async () => {
    await expect(importRows(store, file(exported(2, failed)))).rejects.toThrow(
      "the server's export is incomplete: the server reported an error after 2 records: disk I/O error",
    )
    expect(await store.list()).toEqual([])
  })

  it('fails when the footer counts other records than were read', async () => {
    await expect(importRows(store, file(exported(2, footer(5))))).rejects.toThrow(
      /export is incomplete: its footer \(line 3\) counts 5 records, 2 were read/,
    )
    expect(await store.list()).toEqual([])
  })

  it('imports an export saved before exports had a footer', async () => {
    expect(await importRows(store, file(exported(2)))).toMatchObject({ records: 2, complete: true })
  })
})

describe('pulling from a server', () => {
  const pull = { server: 'http://edge.test', token: 't', deviceId: 'p' }
  const serve =
    (body: string, status = 200): typeof fetch =>
    async () =>
      new Response(body, { status, headers: { 'content-type': 'application/x-ndjson' } })
  const pullInto = async (body: string, status?: number) =>
    importRows(store, await pullSource(pull, 'http://page.test', serve(body, status)))

  it('imports a whole export, footer and all', async () => {
    const d = await pullInto(exported(3, footer(3)))
    expect(d).toMatchObject({ records: 3, invalid: 0, fromServer: true, complete: true })
    expect(d.source).toBe('http://edge.test/v1/export?deviceId=p')
  })

  it('fails when the download ends with no footer, and leaves nothing behind', async () => {
    await expect(pullInto(exported(3))).rejects.toThrow(
      "the server's export is incomplete: it ended after 3 records with no footer (cut short)",
    )
    expect(await store.list()).toEqual([])
  })

  it('fails with the server message when the export ends with its error line', async () => {
    await expect(pullInto(exported(2, failed))).rejects.toThrow(/incomplete: .*disk I\/O error/)
    await expect(pullInto(exported(2, footer(3)))).rejects.toThrow(/counts 3 records, 2 were read/)
    expect(await store.list()).toEqual([])
  })

  it('says what the server answered when it refuses', async () => {
    const refused = JSON.stringify({ error: { code: 'unauthorized', message: 'wrong token' } })
    await expect(pullSource(pull, 'http://page.test', serve(refused, 401))).rejects.toThrow(
      'the server answered 401: wrong token',
    )
  })
})
