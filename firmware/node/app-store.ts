// The app module store on a Node file system: `<stateDir>/apps/<sha256>.wasm`, each written whole and
// atomically (a temporary file renamed over it), so a crash never leaves half a module under a name.
// A module is checked against its name when read: one that no longer matches (a disk fault) is
// deleted and answered as absent, and the agent downloads it again.
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { AppStore } from '../agent/apps/ports.js'
import { syncDir, TMP_PREFIX } from './atomic-file.js'

const MODULE = /^([0-9a-f]{64})\.wasm$/

export interface FileAppStoreOptions {
  /** fsync every write (default true). */
  durable?: boolean
}

export async function fileAppStore(stateDir: string, options: FileAppStoreOptions = {}): Promise<AppStore> {
  const durable = options.durable ?? true
  const dir = join(stateDir, 'apps')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  for (const name of await readdir(dir))
    if (name.startsWith(TMP_PREFIX)) await rm(join(dir, name), { force: true })
  const path = (sha256: string) => {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new TypeError(`not a sha256: ${JSON.stringify(sha256)}`)
    return join(dir, `${sha256}.wasm`)
  }

  return {
    async put(sha256, bytes) {
      const target = path(sha256)
      const tmp = join(dir, `${TMP_PREFIX}${sha256}-${randomBytes(6).toString('hex')}`)
      try {
        const handle = await open(tmp, 'wx', 0o600)
        try {
          await handle.writeFile(bytes)
          if (durable) await handle.sync()
        } finally {
          await handle.close()
        }
        await rename(tmp, target)
      } catch (e) {
        await rm(tmp, { force: true })
        throw e
      }
      if (durable) await syncDir(dir)
    },
    async get(sha256) {
      let bytes: Uint8Array
      try {
        bytes = new Uint8Array(await readFile(path(sha256)))
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
        throw e
      }
      if (createHash('sha256').update(bytes).digest('hex') === sha256) return bytes
      await rm(path(sha256), { force: true })
      return null
    },
    async delete(sha256) {
      await rm(path(sha256), { force: true })
    },
    async list() {
      const names = await readdir(dir)
      return names.flatMap((name) => MODULE.exec(name)?.[1] ?? [])
    },
  }
}
