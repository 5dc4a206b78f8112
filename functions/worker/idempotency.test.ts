import { describe, expect, it } from 'vitest'
import { fingerprint, IDEMPOTENCY_KEY, keyReused, partHash, partKey, reusedKey } from './idempotency.js'

const bytes = (s: string) => new TextEncoder().encode(s)

describe('part keys', () => {
  it('suffix the shard, and replace a key too long for the suffix by its hash', async () => {
    expect(await partKey('batch-7', 3)).toBe('batch-7~shard3')
    const long = 'k'.repeat(200)
    const hashed = await partKey(long, 12)
    expect(hashed).toMatch(/^[0-9a-f]{64}~shard12$/)
    expect(IDEMPOTENCY_KEY.test(hashed)).toBe(true)
    expect(await partKey(long, 12)).toBe(hashed)
    expect(await partKey(`${long.slice(1)}j`, 12)).not.toBe(hashed)
  })

  it('fingerprint a batch in blanks the parsers skip, different for another batch', async () => {
    const a = await fingerprint(bytes('{"deviceId":"a"}'))
    expect(a).toMatch(/^\n[ \t]{64}$/)
    expect(await fingerprint(bytes('{"deviceId":"a"}'))).toBe(a)
    expect(await fingerprint(bytes('{"deviceId":"b"}'))).not.toBe(a)
    expect(JSON.parse(`[{"v":1}]${a}`)).toEqual([{ v: 1 }])
  })
})

describe('reusedKey', () => {
  const stored = (bodyHash: string | null) => ({ key: 'k', status: 200, response: '{}', bodyHash })

  it('lets a batch go on when nothing is stored, or what is stored is its own parts', async () => {
    const h0 = await partHash('part 0')
    const h2 = await partHash(bytes('part 2'))
    const hashes = new Map([
      [0, h0],
      [2, h2],
    ])
    expect(reusedKey([undefined, undefined, undefined, undefined], hashes)).toBe(false)
    expect(reusedKey([stored(h0), undefined, undefined, undefined], hashes)).toBe(false)
    expect(reusedKey([stored(h0), undefined, stored(null), undefined], hashes)).toBe(false)
  })

  it('finds reused a stored part that differs, or one for a shard this batch does not reach', async () => {
    const hashes = new Map([[0, await partHash('part 0')]])
    for (const s of [
      [stored(await partHash('another part 0'))],
      [undefined, stored(await partHash('part 1'))],
    ])
      expect(reusedKey(s, hashes)).toBe(true)
    expect([keyReused().status, keyReused().code]).toEqual([422, 'idempotency_key_reused'])
  })
})
