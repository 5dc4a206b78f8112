import { describe, expect, it } from 'vitest'
import { DEFAULT_SHARDS, fnv1a32, routeOf, shardCount, shardName, shardOf } from './shards.js'

describe('shards', () => {
  it('hashes with 32-bit FNV-1a over UTF-8 (published test vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5)
    expect(fnv1a32('a')).toBe(0xe40c292c)
    expect(fnv1a32('foobar')).toBe(0xbf9cf968)
    // UTF-8 bytes, not UTF-16 code units: "é" is two bytes.
    expect(fnv1a32('é')).not.toBe(fnv1a32('\u00e9'.normalize('NFD')))
    expect(fnv1a32('é')).toBe(Math.imul(Math.imul(0x811c9dc5 ^ 0xc3, 0x01000193) ^ 0xa9, 0x01000193) >>> 0)
  })

  it('puts a device on one shard, always, and spreads a fleet over all of them', () => {
    const counts = [0, 0, 0, 0]
    for (let i = 0; i < 4000; i++) {
      const s = shardOf(`pump-${i}`, 4)
      expect(s).toBe(shardOf(`pump-${i}`, 4))
      counts[s]!++
    }
    for (const c of counts) expect(c).toBeGreaterThan(800)
    expect(shardOf('anything', 1)).toBe(0)
  })

  it('reads EDGEWATCH_SHARDS, and refuses what is not a shard count', () => {
    expect(shardCount(undefined)).toBe(DEFAULT_SHARDS)
    expect(shardCount(' 1 ')).toBe(1)
    expect(shardCount('16')).toBe(16)
    for (const bad of ['0', '-2', '2.5', 'four', '65'])
      expect(() => shardCount(bad)).toThrow(/EDGEWATCH_SHARDS/)
  })

  it('names shard 0 as the single object was named', () => {
    expect(shardName(0)).toBe('fleet')
    expect(shardName(3)).toBe('shard-3')
  })

  it('routes device-scoped requests to the device, the rest to the fleet shard', () => {
    expect(routeOf('POST', '/v1/ingest')).toEqual({ kind: 'ingest' })
    expect(routeOf('POST', '/v1/gateway/relay')).toEqual({ kind: 'relay' })
    expect(routeOf('POST', '/v1/write')).toEqual({ kind: 'influx', api: 'v1' })
    expect(routeOf('POST', '/api/v2/write')).toEqual({ kind: 'influx', api: 'v2' })
    expect(routeOf('POST', '/v1/device/heartbeat')).toEqual({ kind: 'device-token' })
    expect(routeOf('POST', '/v1/device/goodbye')).toEqual({ kind: 'device-token' })
    expect(routeOf('GET', '/v1/device/apps/abc')).toEqual({ kind: 'device-token' })
    expect(routeOf('POST', '/v1/devices/pump%201/revoke')).toEqual({ kind: 'device', deviceId: 'pump 1' })
    expect(routeOf('GET', '/v1/devices/pump-1/series/temp')).toEqual({ kind: 'device', deviceId: 'pump-1' })
    expect(routeOf('GET', '/v1/devices/%E0%A4%A')).toEqual({ kind: 'fleet' })
    expect(routeOf('GET', '/metrics', '?shard=3')).toEqual({ kind: 'shard', index: 3 })
    expect(routeOf('GET', '/metrics', '?shard=x')).toEqual({ kind: 'fleet' })
    for (const [m, p] of [
      ['GET', '/v1/devices'],
      ['POST', '/v1/device/enrol'],
      ['POST', '/v1/fleet/enrolment-tokens'],
      ['POST', '/v1/apps'],
      ['GET', '/v1/export'],
      ['GET', '/v1/ingest'],
    ])
      expect(routeOf(m!, p!)).toEqual({ kind: 'fleet' })
  })
})
