// The OTLP body parsers against malformed, truncated and hostile input (fast-check): whatever the
// bytes, a parser either reads records and rejections or throws a BodyError saying why; never
// another error, never a record that is not what was sent. Deep nesting and huge declared lengths
// are refused quickly.
import { toBinary } from '@bufbuild/protobuf'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  gaugesRequest,
  logsJson,
  logsProtobuf,
  logsRequest,
  metricsProtobuf,
} from '../../../test/otlp/requests.js'
import { runs } from '../../app-properties/harness.js'
import { BodyError, type ParsedBody } from '../../domain/ingest-body.js'
import type { BinaryBodyParser } from '../../domain/ingest-prepare.js'
import { ExportLogsServiceRequestSchema } from './gen/logs_pb.js'
import { logsParser } from './logs-body.js'
import { metricsParser } from './metrics-body.js'
import type { OtlpEncoding } from './request-body.js'

const NOW = 1_750_000_000_000
const T = 1_700_000_000_000
const skip = async () => {}
const options = (encoding: OtlpEncoding) => ({
  encoding,
  deviceAttributes: ['device.id', 'service.instance.id'],
})
const PARSERS: [string, BinaryBodyParser][] = [
  ['logs protobuf', logsParser(options('protobuf'))],
  ['logs JSON', logsParser(options('json'))],
  ['metrics protobuf', metricsParser(options('protobuf'))],
  ['metrics JSON', metricsParser(options('json'))],
]

/** The parse's result, or the BodyError's message; any other error fails the test. */
async function outcome(parser: BinaryBodyParser, bytes: Uint8Array): Promise<ParsedBody | string> {
  try {
    return await parser.binary(bytes, NOW, skip)
  } catch (e) {
    if (e instanceof BodyError) return e.message
    throw e
  }
}

const entry = fc.record({
  device: fc.option(fc.constantFrom('pump-1', 'pump 2', '日本', 'gw/7', 'bad\u0001id'), { nil: undefined }),
  ts: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  severity: fc.integer({ min: 0, max: 30 }),
  msg: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }),
})

describe('OTLP body parsers', () => {
  it('read every valid log record as sent and reject the others with their index', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { maxLength: 20 }),
        fc.constantFrom<OtlpEncoding>('protobuf', 'json'),
        async (entries, encoding) => {
          const request = logsRequest(entries)
          const body =
            encoding === 'protobuf' ? logsProtobuf(request) : new TextEncoder().encode(logsJson(request))
          const parsed = await logsParser(options(encoding)).binary(body, NOW, skip)
          // logsRequest groups entries by device: the parsed order is that grouping's.
          const groups = new Map<string | undefined, typeof entries>()
          for (const e of entries) groups.set(e.device, [...(groups.get(e.device) ?? []), e])
          const grouped = [...groups.values()].flat()
          const valid = grouped.filter((e) => e.device !== undefined && e.device !== 'bad\u0001id')
          expect(parsed.records.map((r) => [r.deviceId, r.ts, r.msg ?? undefined])).toEqual(
            valid.map((e) => [e.device, e.ts === 0 ? NOW : e.ts, e.msg === undefined ? undefined : e.msg]),
          )
          expect(parsed.rejectedCount).toBe(grouped.length - valid.length)
          const rejectedAt = grouped.flatMap((e, i) => (valid.includes(e) ? [] : [i]))
          expect(parsed.rejected.map((r) => r.index)).toEqual(rejectedAt)
        },
      ),
      { numRuns: runs(100) },
    )
  })

  for (const [name, parser] of PARSERS)
    it(`${name}: arbitrary bytes give records or a BodyError, nothing else`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
          const got = await outcome(parser, bytes)
          if (typeof got === 'string') expect(got).toMatch(/^body is not/)
          else for (const r of got.records) expect(r.deviceId.length).toBeGreaterThan(0)
        }),
        { numRuns: runs(300) },
      )
    })

  it('truncated and corrupted protobuf exports give records or a BodyError', async () => {
    const logs = logsProtobuf(
      logsRequest([
        { device: 'a', ts: T, msg: 'x', attributes: { k: 'v', n: 3n } },
        { device: 'b', ts: T },
      ]),
    )
    const metrics = metricsProtobuf(gaugesRequest([{ device: 'a', ts: T, metrics: { m: 1, n: 2 } }]))
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<[BinaryBodyParser, Uint8Array]>([PARSERS[0]![1], logs], [PARSERS[2]![1], metrics]),
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        async ([parser, whole], cut, flips) => {
          const bytes = whole.slice(0, cut % (whole.length + 1))
          for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value
          const got = await outcome(parser, bytes)
          if (typeof got !== 'string') for (const r of got.records) expect(['a', 'b']).toContain(r.deviceId)
        },
      ),
      { numRuns: runs(300) },
    )
  })

  it('hostile JSON: not OTLP, wrong types, deep nesting give a BodyError', async () => {
    const parser = PARSERS[1]![1]
    const encode = (s: string) => new TextEncoder().encode(s)
    for (const text of [
      'null',
      '[]',
      '{"resourceLogs": 5}',
      '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "soon"}]}]}]}',
      '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}',
      `{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"body": ${'{"arrayValue":{"values":['.repeat(5000)}${']}}'.repeat(5000)}}]}]}]}`,
      '{"resourceLogs": [',
    ])
      expect(await outcome(parser, encode(text)), text.slice(0, 80)).toMatch(
        /^body is not a valid OTLP ExportLogsServiceRequest \(json\)/,
      )
    expect(await outcome(parser, new Uint8Array([0xff, 0xfe]))).toBe('body is not valid UTF-8')
  })

  it('hostile protobuf: deep nesting and lengths past the end are refused quickly', async () => {
    const parser = PARSERS[0]![1]
    // AnyValue{array_value{values: AnyValue{…}}} nested 100,000 deep as a log record's body.
    let nested = new Uint8Array(0)
    const wrap = (tag: number, inner: Uint8Array) => {
      const len: number[] = []
      let n = inner.length
      do {
        len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0))
        n >>>= 7
      } while (n > 0)
      return new Uint8Array([tag, ...len, ...inner])
    }
    for (let i = 0; i < 2000; i++) nested = wrap(0x0a, wrap(0x2a, nested)) // values=1 in ArrayValue, array_value=5
    const deep = toBinary(ExportLogsServiceRequestSchema, logsRequest([]))
    const started = performance.now()
    const body = wrap(0x0a, wrap(0x12, wrap(0x12, wrap(0x2a, nested)))) // resource_logs · scope_logs · log_records · body
    const got = await outcome(parser, new Uint8Array([...deep, ...body]))
    // Either refused as nested too deeply, or read with the body kept only to a bounded depth.
    if (typeof got === 'string') expect(got).toMatch(/nested too deeply|not a valid/)
    else expect(JSON.stringify(got.rejected).length).toBeLessThan(10_000)
    // A length that claims 2 GB.
    expect(await outcome(parser, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x07]))).toMatch(
      /^body is not a valid/,
    )
    expect(performance.now() - started).toBeLessThan(5_000)
  })
})
