import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../agent/identity.js'
import { batchOf, storageContract } from '../agent/testing/storage-contract.js'
import { fileStorage } from './file-storage.js'

const dirs: string[] = []
const stateDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgewatch-state-'))
  dirs.push(dir)
  return join(dir, 'device') // not there yet: the storage creates it
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

storageContract('file storage', async () => {
  const dir = await stateDir()
  return { storage: await fileStorage(dir), reopen: () => fileStorage(dir) }
})

describe('file storage', () => {
  it('keeps the key in a 0600 file in a 0700 directory, and one 0600 file per batch', async () => {
    const dir = await stateDir()
    const storage = await fileStorage(dir)
    await storage.identity.saveIdentity({ keyPair: await generateKeyPair(true), deviceId: 'dev-1' })
    await storage.outbox.append(batchOf(1), 10)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    expect((await stat(join(dir, 'identity.json'))).mode & 0o777).toBe(0o600)
    const saved = JSON.parse(await readFile(join(dir, 'identity.json'), 'utf8'))
    expect(saved).toMatchObject({ version: 1, deviceId: 'dev-1', privateKey: { kty: 'EC', crv: 'P-256' } })
    const files = await readdir(join(dir, 'outbox'))
    expect(files).toEqual([`b-0000000000000000-${batchOf(1).id}.json`])
    expect((await stat(join(dir, 'outbox', files[0]!))).mode & 0o777).toBe(0o600)
  })

  it('refuses a key it could not write down (not extractable)', async () => {
    const storage = await fileStorage(await stateDir())
    await expect(
      storage.identity.saveIdentity({ keyPair: await generateKeyPair(false), deviceId: null }),
    ).rejects.toThrow()
    expect(await storage.identity.loadIdentity()).toBeNull()
  })

  it('a crash mid-write leaves only a temporary file: the reopened outbox is as before that write', async () => {
    const dir = await stateDir()
    const storage = await fileStorage(dir)
    for (let i = 0; i < 3; i++) await storage.outbox.append(batchOf(i), 10)
    // What a process killed inside writeFileAtomic leaves: half a batch under a temporary name.
    const half = JSON.stringify({ version: 1, ...batchOf(3) }).slice(0, 40)
    await writeFile(join(dir, 'outbox', `.tmp-b-0000000000000003-${batchOf(3).id}.json-abc`), half)
    await writeFile(join(dir, '.tmp-identity.json-def'), '{"vers')

    const again = await fileStorage(dir)
    expect((await again.outbox.oldest(10)).map((b) => b.id)).toEqual([0, 1, 2].map((i) => batchOf(i).id))
    expect(await again.outbox.dropped()).toBe(0)
    expect((await readdir(join(dir, 'outbox'))).some((f) => f.startsWith('.tmp-'))).toBe(false)
    expect((await readdir(dir)).some((f) => f.startsWith('.tmp-'))).toBe(false)
    await again.outbox.append(batchOf(3), 10)
    expect((await again.outbox.oldest(10)).at(-1)).toEqual(batchOf(3))
  })

  it('a crash between counting dropped batches and removing them neither resends nor recounts them', async () => {
    const dir = await stateDir()
    const storage = await fileStorage(dir)
    for (let i = 0; i < 5; i++) await storage.outbox.append(batchOf(i), 10)
    // The counter was written (batches 0 and 1 dropped), the process died before removing their files.
    await writeFile(join(dir, 'outbox-dropped.json'), JSON.stringify({ dropped: 2, throughSeq: 1 }))

    const again = await fileStorage(dir)
    expect((await again.outbox.oldest(10)).map((b) => b.id)).toEqual([2, 3, 4].map((i) => batchOf(i).id))
    expect(await again.outbox.dropped()).toBe(2)
    expect(await readdir(join(dir, 'outbox'))).toHaveLength(3)
  })

  it('a batch file that cannot be read is set aside, counted as dropped, and the next ones are served', async () => {
    const dir = await stateDir()
    const storage = await fileStorage(dir)
    for (let i = 0; i < 4; i++) await storage.outbox.append(batchOf(i), 10)
    const files = (await readdir(join(dir, 'outbox'))).sort()
    await writeFile(join(dir, 'outbox', files[1]!), '{"version":1,"id":"batch-00')

    const again = await fileStorage(dir)
    expect((await again.outbox.oldest(3)).map((b) => b.id)).toEqual([0, 2, 3].map((i) => batchOf(i).id))
    expect(await again.outbox.count()).toBe(3)
    expect(await again.outbox.dropped()).toBe(1)
    expect((await readdir(join(dir, 'outbox'))).filter((f) => f.startsWith('bad-'))).toEqual([
      `bad-${files[1]}`,
    ])
    expect(await (await fileStorage(dir)).outbox.dropped()).toBe(1)
  })

  it('appends made at once keep their order and the bound', async () => {
    const storage = await fileStorage(await stateDir())
    const dropped = await Promise.all(
      Array.from({ length: 20 }, (_, i) => storage.outbox.append(batchOf(i), 8)),
    )
    expect(dropped.reduce((a, b) => a + b, 0)).toBe(12)
    expect((await storage.outbox.oldest(20)).map((b) => b.id)).toEqual(
      Array.from({ length: 8 }, (_, i) => batchOf(i + 12).id),
    )
    expect(await storage.outbox.dropped()).toBe(12)
  })

  it('numbers batches after the dropped ones even when the outbox emptied (no batch lost at the next open)', async () => {
    const dir = await stateDir()
    const storage = await fileStorage(dir)
    for (let i = 0; i < 4; i++) await storage.outbox.append(batchOf(i), 2)
    await storage.outbox.delete([batchOf(2).id, batchOf(3).id])
    const again = await fileStorage(dir)
    await again.outbox.append(batchOf(9), 2)
    const third = await fileStorage(dir)
    expect((await third.outbox.oldest(10)).map((b) => b.id)).toEqual([batchOf(9).id])
    expect(await third.outbox.dropped()).toBe(2)
  })
})
