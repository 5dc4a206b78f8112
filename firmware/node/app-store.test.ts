import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { sha256Hex } from '../agent/apps/download.js'
import { wellBehaved, work } from '../agent/apps/testing/wasm.js'
import { fileAppStore } from './app-store.js'

const dirs: string[] = []
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})
const tempDir = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edgewatch-apps-'))
  dirs.push(dir)
  return dir
}

describe('file app store', () => {
  it('keeps modules by sha256 in <stateDir>/apps/, across a reopen', async () => {
    const dir = await tempDir()
    const a = wellBehaved()
    const b = work(10)
    const [shaA, shaB] = [await sha256Hex(a), await sha256Hex(b)]
    const store = await fileAppStore(dir, { durable: false })
    expect(await store.get(shaA)).toBeNull()
    await store.put(shaA, a)
    await store.put(shaB, b)
    expect((await readdir(join(dir, 'apps'))).sort()).toEqual([`${shaA}.wasm`, `${shaB}.wasm`].sort())

    const reopened = await fileAppStore(dir, { durable: false })
    expect(await reopened.get(shaA)).toEqual(a)
    expect((await reopened.list()).sort()).toEqual([shaA, shaB].sort())
    await reopened.delete(shaB)
    expect(await reopened.list()).toEqual([shaA])
    await expect(reopened.get('../identity')).rejects.toThrow(/not a sha256/)
  })

  it('answers a module that no longer matches its sha256 as absent, and removes it; a crash’s leftovers go', async () => {
    const dir = await tempDir()
    const bytes = wellBehaved()
    const sha = await sha256Hex(bytes)
    const store = await fileAppStore(dir, { durable: false })
    await store.put(sha, bytes)
    await writeFile(join(dir, 'apps', `${sha}.wasm`), bytes.subarray(0, 20))
    await writeFile(join(dir, 'apps', `.tmp-${sha}-abc`), bytes)
    expect(await store.get(sha)).toBeNull()
    expect(await store.list()).toEqual([])
    await fileAppStore(dir, { durable: false })
    expect(await readdir(join(dir, 'apps'))).toEqual([])
  })
})
