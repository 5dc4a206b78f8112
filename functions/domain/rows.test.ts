import { describe, expect, it } from 'vitest'
import { csvRow, ExportCheck, exportEnd, ndjsonRow, pickColumns, type Row, rowToRecord } from './rows.js'

const deviceOf = (row: Row) => {
  const r = rowToRecord(row.fields!, pickColumns(row.fields!), 'fallback', row.text)
  if (typeof r === 'string') throw new Error(r)
  return r.record.deviceId
}

describe('device ids', () => {
  it('keeps a CSV device id as written, though it looks like a number', () => {
    const header = ['ts', 'device', 'temp']
    const ids = ['007', '1e3', '42', '-0', 'pump-7'].map((id) =>
      deviceOf(csvRow(2, header, ['2026-01-01T00:00:00Z', id, '1.50'])),
    )
    expect(ids).toEqual(['007', '1e3', '42', '-0', 'pump-7'])
    const row = csvRow(2, header, ['2026-01-01T00:00:00Z', '007', '1.50'])
    expect(row.fields).toEqual({ ts: '2026-01-01T00:00:00Z', device: 7, temp: 1.5 })
    expect(row.text).toEqual({ ts: '2026-01-01T00:00:00Z', device: '007', temp: '1.50' })
  })

  it('takes a JSON number as String(value)', () => {
    expect(deviceOf(ndjsonRow(1, '{"device":7,"ts":1767225600000}'))).toBe('7')
    expect(deviceOf(ndjsonRow(1, '{"deviceId":"007","ts":1767225600000}'))).toBe('007')
  })
})

describe('the end of a server export', () => {
  const footer = (records: number) => ({ export: { complete: true, records } })
  const failed = { error: { code: 'export_failed', message: 'disk I/O error', details: { records: 2 } } }

  it('recognises the footer and the error line, and nothing else', () => {
    expect(exportEnd(footer(3))).toEqual({ complete: true, records: 3 })
    expect(exportEnd(failed)).toEqual({ error: 'disk I/O error' })
    for (const other of [
      { deviceId: 'd', export: { complete: true, records: 3 } },
      { export: { complete: false, records: 3 } },
      { export: { complete: true, records: -1 } },
      { export: { complete: true, records: '3' } },
      { export: true },
      { error: 'boom' },
      { error: { code: 'x' } },
      {},
    ])
      expect(exportEnd(other)).toBeUndefined()
  })

  const check = (rows: Record<string, unknown>[], footerRequired = false) => {
    const c = new ExportCheck()
    const ends = rows.map((fields, i) => c.isEnd({ line: i + 1, fields }))
    return { ends, state: c.finish(footerRequired) }
  }
  const record = { deviceId: 'd', ts: '2026-01-01T00:00:00.000Z', temp: 1, score: 0.1, anomalies: '' }

  it('takes the footer out of the rows and says the export is complete when its count matches', () => {
    expect(check([record, record, footer(2)])).toEqual({ ends: [false, false, true], state: 'complete' })
    expect(check([footer(0)], true).state).toBe('complete')
    // Two exports one after the other: each footer counts its own part.
    expect(check([record, footer(1), record, record, footer(2)]).state).toBe('complete')
  })

  it('says why an export is incomplete', () => {
    expect(check([record, record, failed]).state).toEqual({
      incomplete: 'the server reported an error after 2 records: disk I/O error',
    })
    expect(check([record, footer(3)]).state).toEqual({
      incomplete: 'its footer (line 2) counts 3 records, 1 were read',
    })
    expect(check([record, footer(1), record]).state).toEqual({
      incomplete: '1 records after its footer (line 2) have no footer',
    })
    expect(check([record, record], true).state).toEqual({
      incomplete: 'it ended after 2 records with no footer (cut short)',
    })
  })

  it('counts an unreadable line as a record line', () => {
    const c = new ExportCheck()
    expect(c.isEnd({ line: 1, error: 'invalid JSON' })).toBe(false)
    expect(c.isEnd({ line: 2, fields: footer(1) })).toBe(true)
    expect(c.finish()).toBe('complete')
  })

  it('tells export lines with no footer from a plain file; a CSV is never an export', () => {
    expect(check([record, record]).state).toBe('unterminated')
    expect(check([{ deviceId: 'd', ts: 1, temp: 1 }]).state).toBe('plain')
    const c = new ExportCheck()
    c.isEnd(csvRow(2, ['deviceId', 'ts', 'score', 'anomalies'], ['d', '1', '0.1', '']))
    expect(c.finish()).toBe('plain')
  })
})
