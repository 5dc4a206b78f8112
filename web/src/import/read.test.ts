import { gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Row } from '../../../functions/domain/rows.js'
import { MAX_LINE_CHARS, readRows } from './read.js'

/** A stream of the bytes, cut into pieces of the given sizes (to split lines and characters). */
function streamOf(bytes: Uint8Array, cuts: number[] = []): ReadableStream<Uint8Array> {
  const pieces: Uint8Array[] = []
  let at = 0
  for (const c of cuts) {
    if (c <= at || c >= bytes.length) continue
    pieces.push(bytes.subarray(at, c))
    at = c
  }
  pieces.push(bytes.subarray(at))
  return new ReadableStream({
    start(controller) {
      for (const p of pieces) controller.enqueue(p)
      controller.close()
    },
  })
}

async function rows(text: string | Uint8Array, name = '', cuts: number[] = []): Promise<Row[]> {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text
  const out: Row[] = []
  for await (const r of readRows(streamOf(bytes, cuts), { name })) out.push(r)
  return out
}

describe('reading rows in the browser', () => {
  it('reads NDJSON with line numbers, skipping blank lines and reporting bad ones', async () => {
    const got = await rows('{"a":1}\n\n{"a":\n[1,2]\r\n{"a":2}', 'x.ndjson')
    expect(got).toEqual([
      { line: 1, fields: { a: 1 } },
      { line: 3, error: expect.stringMatching(/^invalid JSON/) },
      { line: 4, error: 'a line must be a JSON object' },
      { line: 5, fields: { a: 2 } },
    ])
  })

  it('reads CSV with a header, quoted fields across lines, numbers as numbers', async () => {
    const got = await rows('\ufeffts,device,temp,note\n1,a,20.5,"x\ny"\n2,b,21,ok\n3,c\n', 'x.csv')
    expect(got.map(({ text: _, ...row }) => row)).toEqual([
      { line: 3, fields: { ts: 1, device: 'a', temp: 20.5, note: 'x\ny' } },
      { line: 4, fields: { ts: 2, device: 'b', temp: 21, note: 'ok' } },
      { line: 5, fields: { ts: 3, device: 'c', temp: '', note: '' }, error: 'expected 4 fields, found 2' },
    ])
    expect(got[0]!.text).toEqual({ ts: '1', device: 'a', temp: '20.5', note: 'x\ny' })
  })

  it('keeps each CSV cell as read beside its number: a device id 007 stays 007', async () => {
    const got = await rows('ts,device\n1,007\n2,1e3\n3, 42 \n', 'x.csv')
    expect(got.map((r) => [r.fields?.device, r.text?.device])).toEqual([
      [7, '007'],
      [1000, '1e3'],
      [42, '42'], // csv-parse trims the cell; the text is what it gives
    ])
  })

  it('reads a JSON array, and says what is wrong with a broken one', async () => {
    expect(await rows('[{"a":1}, 2]', 'x.json')).toEqual([
      { line: 1, fields: { a: 1 } },
      { line: 2, error: 'an array item must be a JSON object' },
    ])
    expect(await rows('[{"a":1}', 'x.json')).toEqual([
      { line: 1, error: expect.stringMatching(/^invalid JSON/) },
    ])
  })

  it('tells the format from the content when the name does not, and gunzips gzip', async () => {
    const ndjson = '{"a":1}\n{"a":2}\n'
    expect(await rows(gzipSync(ndjson), 'upload.bin')).toHaveLength(2)
    expect(await rows('[{"a":1}]', 'data')).toEqual([{ line: 1, fields: { a: 1 } }])
    expect(await rows('a,b\n1,2\n', 'data')).toEqual([
      { line: 2, fields: { a: 1, b: 2 }, text: { a: '1', b: '2' } },
    ])
  })

  it('reports a broken gzip stream as an error, not silence', async () => {
    const gz = gzipSync('{"a":1}\n'.repeat(1000))
    await expect(rows(gz.subarray(0, gz.length / 2), 'x.ndjson.gz')).rejects.toThrow()
  })

  it('gives the same rows however the bytes are cut (multi-byte characters too)', async () => {
    const text = ['{"d":"é","v":1}', '{"d":"漢字","v":2}', 'nope', '{"d":"🙂","v":3}'].join('\n') + '\n'
    const bytes = new TextEncoder().encode(text)
    const whole = await rows(bytes, 'x.ndjson')
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 8 }),
        async (cuts) => {
          expect(
            await rows(
              bytes,
              'x.ndjson',
              [...cuts].sort((a, b) => a - b),
            ),
          ).toEqual(whole)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('refuses an over-long line by its number and goes on with the next', async () => {
    const long = `{"a":"${'x'.repeat(MAX_LINE_CHARS + 10)}"}`
    const cuts = Array.from({ length: 40 }, (_, i) => (i + 1) * 65_536)
    const got = await rows(`{"a":1}\n${long}\n{"a":2}\n`, 'x.ndjson', cuts)
    expect(got).toEqual([
      { line: 1, fields: { a: 1 } },
      { line: 2, error: expect.stringMatching(/longer than/) },
      { line: 3, fields: { a: 2 } },
    ])
    const csv = await rows(`a,b\n1,"${'y'.repeat(MAX_LINE_CHARS + 10)}"\n`, 'x.csv')
    expect(csv.at(-1)?.error).toMatch(/^CSV: /)
  })

  it('never throws on hostile text, whatever the format', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 300 }),
        fc.constantFrom('x.csv', 'x.ndjson', 'x.json'),
        async (text, name) => {
          const got = await rows(text, name)
          for (const r of got) expect(r.fields !== undefined || r.error !== undefined).toBe(true)
        },
      ),
      { numRuns: 150 },
    )
  })
})
