// The hostile request bodies of bench:abuse, built once before the server starts, and the good batches.
import { randomBytes } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { createGzip, gzipSync } from 'node:zlib'

/** One hostile request: its kind (what it attacks), its variant, its headers and its prebuilt body. */
export interface HostileRequest {
  kind: string
  variant: string
  headers: Record<string, string>
  body: Buffer
}

const JSON_TYPE = { 'content-type': 'application/json' }
const NDJSON = { 'content-type': 'application/x-ndjson' }
const GZIP = { 'content-encoding': 'gzip' }
const MiB = 1 << 20

/** `unit` repeated to `bytes` bytes (the last copy cut short when it does not fit). */
function repeated(unit: string | Buffer, bytes: number): Buffer {
  const u = typeof unit === 'string' ? Buffer.from(unit) : unit
  const out = Buffer.allocUnsafe(bytes)
  for (let at = 0; at < bytes; at += u.length) u.copy(out, at, 0, Math.min(u.length, bytes - at))
  return out
}

/** Gzips `total` bytes made of `chunk` repeated, streamed chunk by chunk: the plain text never exists whole. */
async function gzipRepeated(chunk: Buffer, total: number): Promise<Buffer> {
  const out: Buffer[] = []
  async function* plain() {
    for (let left = total; left > 0; left -= chunk.length)
      yield left >= chunk.length ? chunk : chunk.subarray(0, left)
  }
  await pipeline(plain(), createGzip({ level: 9, memLevel: 9 }), async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) out.push(c)
  })
  return Buffer.concat(out)
}

/** NDJSON of plausible records for a hostile device: if any of it is ever stored, the benchmark sees it. */
function hostileRecords(deviceId: string, n: number): string {
  const lines: string[] = []
  for (let i = 0; i < n; i++)
    lines.push(JSON.stringify({ deviceId, ts: 1_790_000_000_000 + i * 1000, temp: i % 50 }))
  return lines.join('\n') + '\n'
}

/**
 * One variant of each kind in turn, then the second of each, and so on: however few requests a short
 * run gets through, every kind has been sent.
 */
function interleaved(list: HostileRequest[]): HostileRequest[] {
  const kinds = [...new Set(list.map((h) => h.kind))].map((k) => list.filter((h) => h.kind === k))
  const out: HostileRequest[] = []
  for (let i = 0; out.length < list.length; i++) for (const k of kinds) if (k[i]) out.push(k[i]!)
  return out
}

/**
 * Every hostile request, in the order the flood cycles through them: kind by kind, the near-limit
 * line-by-line bodies (which stall today's server) last, so that a stall does not keep the other
 * kinds from being sent. `limit` is the server's body limit: near-limit bodies stay just under it.
 */
export async function hostileRequests(limit: number): Promise<HostileRequest[]> {
  const under = limit - 1024
  const r = (
    kind: string,
    variant: string,
    headers: Record<string, string>,
    body: Buffer,
  ): HostileRequest => ({
    kind,
    variant,
    headers,
    body,
  })
  const deepArray = '['.repeat(1_000_000) + ']'.repeat(1_000_000)
  const deepObject = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000) + '\n'
  const hugeString = `{"deviceId":"hostile-huge","temp":1,"msg":"${'a'.repeat(7 * MiB)}"}`
  const longMsg = 'b'.repeat(100 * 1024)
  const manyStrings = Array.from(
    { length: 100 },
    (_, i) => `{"deviceId":"hostile-long","ts":${1_790_000_000_000 + i},"temp":1,"msg":"${longMsg}"}\n`,
  ).join('')
  const truncated = gzipSync(hostileRecords('hostile-truncated', 20_000))
  const gzipHeaderThenRandom = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]),
    randomBytes(64 * 1024),
  ])
  // deflate's best ratio is ~1032:1, so a single gzip stream of 1 GiB is ~1 MiB, not 20 KiB.
  const bombGiB = await gzipRepeated(Buffer.alloc(MiB), 1024 * MiB)
  const bombJunk = await gzipRepeated(repeated('x\n', MiB), limit + 64 * 1024)
  const badUtf8Line = Buffer.concat([
    Buffer.from('{"deviceId":"hostile-utf8","temp":1,"msg":"'),
    Buffer.from([0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf8, 0x88, 0x80, 0x80, 0x80]),
    Buffer.from('"}\n'),
  ])
  const validLine = hostileRecords('hostile-content-type', 100)
  const truncatedPart = truncated.subarray(0, Math.floor(truncated.length * 0.6))
  const multipart = { 'content-type': 'multipart/form-data; boundary=x' }
  return interleaved([
    r('wrong-content-type', 'text/plain', { 'content-type': 'text/plain' }, Buffer.from(validLine)),
    r('wrong-content-type', 'application/xml', { 'content-type': 'application/xml' }, Buffer.from('<a/>')),
    r('wrong-content-type', 'none', {}, Buffer.from(validLine)),
    r('wrong-content-type', 'multipart', multipart, Buffer.from(validLine)),
    r('wrong-content-type', 'encoding-br', { ...NDJSON, 'content-encoding': 'br' }, Buffer.from(validLine)),
    r('bad-gzip', 'random-bytes', { ...NDJSON, ...GZIP }, randomBytes(256 * 1024)),
    r('bad-gzip', 'truncated', { ...NDJSON, ...GZIP }, truncatedPart),
    r('bad-gzip', 'header-then-random', { ...NDJSON, ...GZIP }, gzipHeaderThenRandom),
    r('gzip-bomb', 'zeros-1GiB', { ...JSON_TYPE, ...GZIP }, bombGiB),
    r('gzip-bomb', 'junk-just-over-limit', { ...NDJSON, ...GZIP }, bombJunk),
    r('deep-nesting', 'array-1e6-deep', JSON_TYPE, Buffer.from(deepArray)),
    r('deep-nesting', 'object-1e5-deep-ndjson', NDJSON, Buffer.from(deepObject)),
    r('huge-strings', 'one-7MiB-string', JSON_TYPE, Buffer.from(hugeString)),
    r('huge-strings', '100x100KiB-msg', NDJSON, Buffer.from(manyStrings)),
    r('invalid-utf8', 'bad-sequences-in-record', NDJSON, badUtf8Line),
    r('invalid-utf8', 'ff-bytes-8MiB', NDJSON, Buffer.alloc(under, 0xff)),
    r('unclosed-objects', 'deviceId-lines-8MiB', NDJSON, repeated('{"deviceId":"x"\n', under)),
    r('junk-lines', 'x-lines-8MiB', NDJSON, repeated('x\n', under)),
  ])
}

/** One well-formed batch: `perDevice` records for each device, time moving forward by `stepMs`. */
export function goodBatch(devices: string[], perDevice: number, startTs: number, stepMs: number): Buffer {
  const lines: string[] = []
  for (let i = 0; i < perDevice; i++) {
    const ts = startTs + i * stepMs
    devices.forEach((deviceId, d) => {
      const temp = 40 + Math.sin(ts / 60_000 + d) * 5
      const humidity = 50 + Math.cos(ts / 90_000 + d) * 10
      lines.push(
        JSON.stringify({
          deviceId,
          ts,
          level: 'info',
          temp: Math.round(temp * 100) / 100,
          humidity: Math.round(humidity * 100) / 100,
          msg: 'telemetry',
        }),
      )
    })
  }
  return Buffer.from(lines.join('\n') + '\n')
}
