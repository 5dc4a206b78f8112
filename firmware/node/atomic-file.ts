// Whole-file writes that a crash cannot leave half done: write a temporary file beside the target,
// flush it to disk, rename it over the target (atomic on POSIX file systems), then flush the directory
// so the rename itself survives a power cut. A crash leaves either the old file or the new one, plus
// at most a `.tmp-` file that the next open removes.
import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'

export const TMP_PREFIX = '.tmp-'

export interface WriteOptions {
  /** fsync the file and its directory (default true). Off only for tests on throwaway data. */
  durable: boolean
  mode: number
}

export async function writeFileAtomic(
  dir: string,
  name: string,
  data: string,
  options: WriteOptions,
): Promise<void> {
  const tmp = join(dir, `${TMP_PREFIX}${name}-${randomBytes(6).toString('hex')}`)
  try {
    const handle = await open(tmp, 'wx', options.mode)
    try {
      await handle.writeFile(data, 'utf8')
      if (options.durable) await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, join(dir, name))
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
  if (options.durable) await syncDir(dir)
}

/** Makes a directory's entries (a rename, an unlink) durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } catch {
    // Some file systems do not fsync directories (EINVAL, EISDIR on some platforms): nothing more to do.
  } finally {
    await handle.close()
  }
}
