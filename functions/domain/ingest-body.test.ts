import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BodyError, formatOf, parseBody } from './ingest-body.js'

const NOW = 1_800_000_000_000

describe('ingest bodies', () => {
  it('knows its content types', () => {
    expect(formatOf('application/json; charset=utf-8')).toBe('json')
    expect(formatOf('application/x-ndjson')).toBe('ndjson')
    expect(formatOf('APPLICATION/NDJSON')).toBe('ndjson')
    expect(formatOf('text/plain')).toBeUndefined()
    expect(formatOf(undefined)).toBeUndefined()
  })

  it('splits NDJSON into records and rejections with line numbers, keeping the raw line', () => {
    const text =
      '{"deviceId":"a","temp":1}\r\n\n{"deviceId":"b"\nnot json\n{"temp":3}\n{"deviceId":"c","temp":2}'
    const { records, rejected } = parseBody(text, 'ndjson', NOW)
    expect(records.map((r) => r.deviceId)).toEqual(['a', 'c'])
    expect(records[0]!.body).toBe('{"deviceId":"a","temp":1}')
    expect(rejected.map((r) => r.line)).toEqual([3, 4, 5])
    expect(rejected[0]!.raw).toBe('{"deviceId":"b"')
    expect(rejected[2]!.reason).toMatch(/deviceId/)
  })

  it('reads a JSON array with indexes, or one object', () => {
    const { records, rejected } = parseBody('[{"deviceId":"a"}, 5, {"deviceId":"b","x":1}]', 'json', NOW)
    expect(records).toHaveLength(2)
    expect(rejected).toEqual([{ index: 1, reason: expect.stringMatching(/object/), raw: '5' }])
    expect(parseBody('{"deviceId":"a"}', 'json', NOW).records).toHaveLength(1)
  })

  it('throws BodyError for a JSON body that is not JSON or not records', () => {
    for (const bad of ['[{"deviceId":"a"}', '42', '"text"', 'null', '{"a":']) {
      expect(() => parseBody(bad, 'json', NOW)).toThrow(BodyError)
    }
  })

  it('survives deep nesting and hostile shapes', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000)
    expect(() => {
      try {
        parseBody(deep, 'json', NOW)
      } catch (e) {
        if (!(e instanceof BodyError)) throw e
      }
    }).not.toThrow()
    const line = `{"deviceId":"d","x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`
    const r = parseBody(line, 'ndjson', NOW)
    expect(r.records.length + r.rejected.length).toBe(1)
  })

  it('accounts for every non-blank line of random NDJSON exactly once', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.jsonValue().map((v) => JSON.stringify(v)),
            fc.string(),
            fc.constant('{"deviceId":"ok","v":1}'),
          ),
          {
            maxLength: 40,
          },
        ),
        (lines) => {
          const clean = lines.map((l) => l.replace(/[\r\n]/g, ' '))
          const { records, rejected } = parseBody(clean.join('\n'), 'ndjson', NOW)
          expect(records.length + rejected.length).toBe(clean.filter((l) => l.trim() !== '').length)
        },
      ),
    )
  })
})
