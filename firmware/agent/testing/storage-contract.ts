// One contract for every storage port implementation (memory here, files in firmware/node/, IndexedDB
// later): the outbox's order, bound and counter, and the identity, across a reopen.
import { describe, expect, it } from 'vitest'
import { generateKeyPair, publicJwk, sign, verify } from '../identity.js'
import type { AgentStorage, SealedBatch } from '../ports.js'

export interface StorageUnderTest {
  storage: AgentStorage
  /** The same storage as a restarted process finds it. */
  reopen(): Promise<AgentStorage>
}

export const batchOf = (i: number, records = 2): SealedBatch => ({
  id: `batch-${String(i).padStart(4, '0')}`,
  createdAt: 1_000 + i,
  records,
  body: `${Array.from({ length: records }, (_, r) => JSON.stringify({ ts: i * 10 + r, v: i })).join('\n')}\n`,
})

export function storageContract(name: string, open: () => Promise<StorageUnderTest>): void {
  describe(`${name}: storage contract`, () => {
    it('starts empty', async () => {
      const { storage } = await open()
      expect(await storage.identity.loadIdentity()).toBeNull()
      expect(await storage.outbox.count()).toBe(0)
      expect(await storage.outbox.oldest(10)).toEqual([])
      expect(await storage.outbox.dropped()).toBe(0)
    })

    it('keeps batches in append order and gives them back whole, oldest first', async () => {
      const { storage } = await open()
      for (let i = 0; i < 5; i++) expect(await storage.outbox.append(batchOf(i), 100)).toBe(0)
      expect(await storage.outbox.count()).toBe(5)
      expect(await storage.outbox.oldest(2)).toEqual([batchOf(0), batchOf(1)])
      await storage.outbox.delete([batchOf(0).id, batchOf(3).id, 'no-such-batch'])
      expect((await storage.outbox.oldest(10)).map((b) => b.id)).toEqual([1, 2, 4].map((i) => batchOf(i).id))
      expect(await storage.outbox.count()).toBe(3)
      expect(await storage.outbox.dropped()).toBe(0)
    })

    it('past the bound drops the oldest and counts them', async () => {
      const { storage } = await open()
      const dropped = []
      for (let i = 0; i < 8; i++) dropped.push(await storage.outbox.append(batchOf(i), 3))
      expect(dropped).toEqual([0, 0, 0, 1, 1, 1, 1, 1])
      expect(await storage.outbox.count()).toBe(3)
      expect((await storage.outbox.oldest(10)).map((b) => b.id)).toEqual([5, 6, 7].map((i) => batchOf(i).id))
      expect(await storage.outbox.dropped()).toBe(5)
      // A smaller bound later drops several at once.
      await storage.outbox.append(batchOf(8), 1)
      expect((await storage.outbox.oldest(10)).map((b) => b.id)).toEqual([batchOf(8).id])
      expect(await storage.outbox.dropped()).toBe(8)
    })

    it('keeps the outbox, its order and the dropped counter across a reopen', async () => {
      const under = await open()
      for (let i = 0; i < 6; i++) await under.storage.outbox.append(batchOf(i), 4)
      await under.storage.outbox.delete([batchOf(3).id])
      const again = await under.reopen()
      expect((await again.outbox.oldest(10)).map((b) => b.id)).toEqual([2, 4, 5].map((i) => batchOf(i).id))
      expect(await again.outbox.dropped()).toBe(2)
      await again.outbox.append(batchOf(6), 4)
      expect((await again.outbox.oldest(10)).map((b) => b.id)).toEqual([2, 4, 5, 6].map((i) => batchOf(i).id))
      expect((await again.outbox.oldest(1))[0]).toEqual(batchOf(2))
    })

    it('keeps the identity across a reopen: the same key signs, and the deviceId', async () => {
      const under = await open()
      const keyPair = await generateKeyPair(under.storage.identity.extractableKeys)
      await under.storage.identity.saveIdentity({ keyPair, deviceId: null })
      await under.storage.identity.saveIdentity({ keyPair, deviceId: 'dev-42' })
      const again = await under.reopen()
      const loaded = await again.identity.loadIdentity()
      expect(loaded?.deviceId).toBe('dev-42')
      const jwk = await publicJwk(keyPair.publicKey)
      expect(await publicJwk(loaded!.keyPair.publicKey)).toEqual(jwk)
      expect(await verify(jwk, 'hello', await sign(loaded!.keyPair.privateKey, 'hello'))).toBe(true)
    })
  })
}
