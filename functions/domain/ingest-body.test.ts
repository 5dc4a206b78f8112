import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BodyError, formatOf, INVALID_JSON_MAX, parseBody, REJECTIONS_KEPT } from './ingest-body.js'

const NOW = 1_800_000_000_000

describe('ingest bodies', () => {
  it('knows its content types', () => {
    expect(formatOf('application/json; charset=utf-8')).toBe('json')
    expect(formatOf('application/x-ndjson')).toBe('ndjson')
    expect(formatOf('APPLICATION/NDJSON')).toBe('ndjson')
    expect(formatOf('text/plain')).toBeUndefined()
    expect(formatOf(undefined)).toBeUndefined()
  })

  it('splits NDJSON into records and rejections with line numbers, keeping the raw line', async () => {
    const text =
      '{"deviceId":"a","temp":1}\r\n\n{"deviceId":"b"\nnot json\n{"temp":3}\n{"deviceId":"c","temp":2}\n{"x":}'
    const { records, rejected, rejectedCount } = await parseBody(text, 'ndjson', NOW)
    expect(records.map((r) => r.deviceId)).toEqual(['a', 'c'])
    expect(records[0]!.body).toBe('{"deviceId":"a","temp":1}')
    expect(rejected.map((r) => r.line)).toEqual([3, 4, 5, 7])
    expect(rejectedCount).toBe(4)
    expect(rejected[0]!.raw).toBe('{"deviceId":"b"')
    expect(rejected[1]!.reason).toBe('a record must be a JSON object')
    expect(rejected[2]!.reason).toMatch(/deviceId/)
    expect(rejected[3]!.reason).toMatch(/^invalid JSON: /)
  })

  it('reads a JSON array with indexes, or one object', async () => {
    const { records, rejected } = await parseBody(
      '[{"deviceId":"a"}, 5, {"deviceId":"b","x":1}]',
      'json',
      NOW,
    )
    expect(records).toHaveLength(2)
    expect(rejected).toEqual([{ index: 1, reason: expect.stringMatching(/object/), raw: '5' }])
    expect((await parseBody('{"deviceId":"a"}', 'json', NOW)).records).toHaveLength(1)
  })

  it('throws BodyError for a JSON body that is not JSON or not records', async () => {
    for (const bad of ['[{"deviceId":"a"}', '42', '"text"', 'null', '{"a":']) {
      await expect(parseBody(bad, 'json', NOW)).rejects.toBeInstanceOf(BodyError)
    }
  })

  it('survives deep nesting and hostile shapes', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000)
    await parseBody(deep, 'json', NOW).catch((e) => {
      if (!(e instanceof BodyError)) throw e
    })
    const line = `{"deviceId":"d","x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`
    const r = await parseBody(line, 'ndjson', NOW)
    expect(r.records.length + r.rejectedCount).toBe(1)
    // An item too deeply nested to serialise again is rejected without raw text of its own.
    const nested = `[${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}]`
    const n = await parseBody(nested, 'json', NOW)
    expect(n.rejected).toEqual([{ index: 0, reason: expect.any(String), raw: undefined }])
  })

  it('keeps the first rejections whole and only counts the rest, in bounded time', async () => {
    const junk = 'x\n'.repeat(2_000_000) + '{"deviceId":"last","v":1}'
    const t0 = performance.now()
    const { records, rejected, rejectedCount } = await parseBody(junk, 'ndjson', NOW)
    const ms = performance.now() - t0
    expect(records.map((r) => r.deviceId)).toEqual(['last'])
    expect(rejectedCount).toBe(2_000_000)
    expect(rejected).toHaveLength(REJECTIONS_KEPT)
    expect(rejected[REJECTIONS_KEPT - 1]!.line).toBe(REJECTIONS_KEPT)
    // Not a timing target (the machine is shared): a guard against parsing each junk line (~20 s).
    expect(ms).toBeLessThan(10_000)
  })

  it('refuses a body with more lines that fail to parse than INVALID_JSON_MAX', async () => {
    const ok = '{"deviceId":"a"}\n'
    const bad = '{x}\n'
    expect((await parseBody(ok + bad.repeat(INVALID_JSON_MAX), 'ndjson', NOW)).rejectedCount).toBe(
      INVALID_JSON_MAX,
    )
    await expect(parseBody(ok + bad.repeat(INVALID_JSON_MAX + 1), 'ndjson', NOW)).rejects.toThrow(
      /more than 1000 lines are not valid JSON/,
    )
  })

  it('pauses during a long parse so that other work gets a turn', async () => {
    let pauses = 0
    const body = '{"deviceId":"a","v":1}\n'.repeat(200_000)
    const { records } = await parseBody(body, 'ndjson', NOW, async () => {
      pauses++
    })
    expect(records).toHaveLength(200_000)
    expect(pauses).toBeGreaterThan(0)
  })

  it('accounts for every non-blank line of random NDJSON exactly once', async () => {
    const blank = (l: string) => /^[ \t\r]*$/.test(l)
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.jsonValue().map((v) => JSON.stringify(v)),
            fc.string(),
            fc.constant('{"deviceId":"ok","v":1}'),
          ),
          { maxLength: 40 },
        ),
        async (lines) => {
          const clean = lines.map((l) => l.replace(/[\r\n]/g, ' '))
          const { records, rejectedCount } = await parseBody(clean.join('\n'), 'ndjson', NOW)
          expect(records.length + rejectedCount).toBe(clean.filter((l) => !blank(l)).length)
        },
      ),
    )
  })
})
