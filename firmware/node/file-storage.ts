// The storage port on a Node file system, in one state directory:
//
//   <stateDir>/identity.json         the private key (JWK, with the public x, y) and the deviceId; 0600
//   <stateDir>/outbox-dropped.json   {"dropped": N, "throughSeq": S}: how many batches the bound dropped
//   <stateDir>/outbox/b-<seq>-<id>.json   one file per sealed batch; <seq> (16 digits) orders them
//
// Every file is written whole and atomically (atomic-file.ts), so a crash mid-write leaves the outbox as
// it was before that write. Dropping the oldest past the bound writes the counter first, with the
// highest seq dropped; the files are then removed, and an open removes any file at or below that seq
// that a crash left behind. So a crash never counts a batch as dropped that is then sent, and never
// loses one uncounted. A batch file that cannot be read (a disk fault) is renamed `bad-…` and counted
// as dropped. One process owns a state directory at a time.
import { chmod, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { AgentStorage, Identity, SealedBatch } from '../agent/ports.js'
import { syncDir, TMP_PREFIX, writeFileAtomic } from './atomic-file.js'

export interface FileStorageOptions {
  /** fsync every write (default true). */
  durable?: boolean
}

interface Entry {
  seq: number
  id: string
  file: string
}

interface DroppedState {
  dropped: number
  throughSeq: number
}

const KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const
const BATCH_FILE = /^b-(\d{16})-([A-Za-z0-9_-]{1,128})\.json$/
const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/
const IDENTITY = 'identity.json'
const DROPPED = 'outbox-dropped.json'

export async function fileStorage(stateDir: string, options: FileStorageOptions = {}): Promise<AgentStorage> {
  const durable = options.durable ?? true
  const outboxDir = join(stateDir, 'outbox')
  await mkdir(outboxDir, { recursive: true, mode: 0o700 })
  const write = (dir: string, name: string, data: string) =>
    writeFileAtomic(dir, name, data, { durable, mode: 0o600 })

  // Leftovers of a crash: temporary files, and batches the counter already counted as dropped.
  for (const dir of [stateDir, outboxDir]) {
    for (const name of await readdir(dir))
      if (name.startsWith(TMP_PREFIX)) await rm(join(dir, name), { force: true })
  }
  let state: DroppedState = await readJson<DroppedState>(join(stateDir, DROPPED)).then(
    (s) => s ?? { dropped: 0, throughSeq: -1 },
  )
  let entries: Entry[] = []
  for (const file of await readdir(outboxDir)) {
    const m = BATCH_FILE.exec(file)
    if (!m) continue
    const seq = Number(m[1])
    if (seq <= state.throughSeq) await rm(join(outboxDir, file), { force: true })
    else entries.push({ seq, id: m[2]!, file })
  }
  entries.sort((a, b) => a.seq - b.seq)
  let nextSeq = Math.max(state.throughSeq, entries.at(-1)?.seq ?? -1) + 1

  // Appends and counter updates run one at a time, so the bound always sees a settled outbox.
  let queue: Promise<unknown> = Promise.resolve()
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work)
    queue = run.catch(() => {})
    return run
  }

  const saveDropped = async (next: DroppedState) => {
    await write(stateDir, DROPPED, JSON.stringify(next))
    state = next
  }

  const quarantine = (entry: Entry) =>
    exclusive(async () => {
      if (!entries.includes(entry)) return
      entries = entries.filter((e) => e !== entry)
      await saveDropped({ ...state, dropped: state.dropped + 1 })
      await rename(join(outboxDir, entry.file), join(outboxDir, `bad-${entry.file}`)).catch(() => {})
    })

  return {
    identity: {
      extractableKeys: true,
      async loadIdentity(): Promise<Identity | null> {
        const path = join(stateDir, IDENTITY)
        const saved = await readJson<{ privateKey: JsonWebKey; deviceId: string | null }>(path)
        if (!saved) return null
        await chmod(path, 0o600) // in case someone loosened it
        const { d: _d, key_ops: _ops, ...publicJwk } = saved.privateKey
        const privateKey = await crypto.subtle.importKey('jwk', saved.privateKey, KEY, true, ['sign'])
        const publicKey = await crypto.subtle.importKey('jwk', publicJwk, KEY, true, ['verify'])
        return { keyPair: { privateKey, publicKey }, deviceId: saved.deviceId }
      },
      async saveIdentity(identity) {
        const privateKey = await crypto.subtle.exportKey('jwk', identity.keyPair.privateKey)
        await write(
          stateDir,
          IDENTITY,
          JSON.stringify({ version: 1, deviceId: identity.deviceId, privateKey }),
        )
      },
    },

    outbox: {
      append: (batch: SealedBatch, limit: number) =>
        exclusive(async () => {
          if (!SAFE_ID.test(batch.id))
            throw new TypeError(`batch id ${JSON.stringify(batch.id)} is not file-safe`)
          const seq = nextSeq++
          const file = `b-${String(seq).padStart(16, '0')}-${batch.id}.json`
          await write(outboxDir, file, JSON.stringify({ version: 1, ...batch }))
          entries.push({ seq, id: batch.id, file })
          const excess = entries.length - limit
          if (excess <= 0) return 0
          const victims = entries.slice(0, excess)
          entries = entries.slice(excess)
          await saveDropped({ dropped: state.dropped + excess, throughSeq: victims.at(-1)!.seq })
          await Promise.all(victims.map((v) => rm(join(outboxDir, v.file), { force: true })))
          return excess
        }),

      async oldest(n) {
        for (;;) {
          const out: SealedBatch[] = []
          let setAside = false
          for (const entry of entries.slice(0, n)) {
            const batch = await readBatch(join(outboxDir, entry.file))
            if (batch === 'gone') continue // deleted meanwhile
            if (batch === 'bad' || batch.id !== entry.id) {
              await quarantine(entry)
              setAside = true
              continue
            }
            out.push(batch)
          }
          // An unreadable batch left the list: read again so the next ones fill its place.
          if (!setAside) return out
        }
      },

      async delete(ids) {
        const gone = new Set(ids)
        const removed = entries.filter((e) => gone.has(e.id))
        if (removed.length === 0) return
        entries = entries.filter((e) => !gone.has(e.id))
        await Promise.all(removed.map((e) => rm(join(outboxDir, e.file), { force: true })))
        if (durable) await syncDir(outboxDir)
      },

      count: async () => entries.length,
      dropped: async () => state.dropped,
    },
  }
}

async function readJson<T>(path: string): Promise<T | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  }
  return JSON.parse(text) as T
}

async function readBatch(path: string): Promise<SealedBatch | 'gone' | 'bad'> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone'
    throw e
  }
  try {
    const b = JSON.parse(text) as Partial<SealedBatch>
    if (
      typeof b.id !== 'string' ||
      typeof b.body !== 'string' ||
      typeof b.records !== 'number' ||
      typeof b.createdAt !== 'number'
    ) {
      return 'bad'
    }
    return { id: b.id, createdAt: b.createdAt, records: b.records, body: b.body }
  } catch {
    return 'bad'
  }
}
