// The agent's storage port on IndexedDB (with `idb`): many devices in one database, each under its
// own key. The identity keeps the CryptoKey pair itself (structured clone), so the private key is
// NON-extractable: nothing can read it out of the browser, not even this page. The outbox keeps sealed
// batches in append order; the app store keeps module bytes by sha256, shared by every device of the
// database (a module is kept once, however many devices run it).
//
// Reads come from a copy in memory of what this device's outbox holds, loaded once when the storage
// opens and changed only after each write has committed: one agent owns a device's storage, so the
// copy is exact, and a device's sender (oldest, count, dropped after every ack) costs no IndexedDB
// read. Writes are grouped: what every device of the page asks while a transaction commits goes into
// the next one (IndexedDB runs read-write transactions on the same stores one after another, so 1,000
// devices writing one transaction each would queue behind each other; one commit for many is what a
// database does for group commit). A write resolves only once its transaction has committed, and an
// append, its bound and the dropped counter are in the same one.
import { type DBSchema, type IDBPDatabase, openDB } from 'idb'
import type { AppStore } from '../agent/apps/ports.js'
import type { AgentStorage, Identity, SealedBatch } from '../agent/ports.js'

interface OutboxRow extends SealedBatch {
  device: string
  seq: number
}

interface McuSchema extends DBSchema {
  identity: { key: string; value: { device: string; keyPair: CryptoKeyPair; deviceId: string | null } }
  /** Keyed by [device, seq]: a device's batches in append order. */
  outbox: { key: [string, number]; value: OutboxRow }
  /** Per device: the next seq and the batches dropped by the bound. */
  meta: { key: string; value: { device: string; nextSeq: number; dropped: number } }
  apps: { key: string; value: { sha256: string; bytes: Uint8Array } }
}

export type McuDatabase = IDBPDatabase<McuSchema>

/** Opens (creating it if needed) the database that keeps every device of this origin under `name`. */
export function openMcuDatabase(name = 'edgewatch-mcu'): Promise<McuDatabase> {
  return openDB<McuSchema>(name, 1, {
    upgrade(db) {
      db.createObjectStore('identity', { keyPath: 'device' })
      db.createObjectStore('outbox', { keyPath: ['device', 'seq'] })
      db.createObjectStore('meta', { keyPath: 'device' })
      db.createObjectStore('apps', { keyPath: 'sha256' })
    },
  })
}

export interface IdbStorage extends AgentStorage {
  apps: AppStore
  /** The outbox's depth now, without a transaction (the copy in memory). */
  depth(): number
}

interface Write {
  puts: OutboxRow[]
  deletes: [string, number][]
  meta?: { device: string; nextSeq: number; dropped: number }
  resolve(): void
  reject(e: unknown): void
}

const writers = new WeakMap<McuDatabase, (w: Omit<Write, 'resolve' | 'reject'>) => Promise<void>>()

/** The database's one writer: writes asked while a transaction commits go together in the next one. */
function writerOf(db: McuDatabase): (w: Omit<Write, 'resolve' | 'reject'>) => Promise<void> {
  const known = writers.get(db)
  if (known) return known
  let queue: Write[] = []
  let running = false
  const run = async () => {
    running = true
    while (queue.length > 0) {
      const group = queue
      queue = []
      try {
        const tx = db.transaction(['outbox', 'meta'], 'readwrite')
        const outbox = tx.objectStore('outbox')
        const meta = tx.objectStore('meta')
        for (const w of group) {
          for (const row of w.puts) void outbox.put(row)
          for (const key of w.deletes) void outbox.delete(key)
          if (w.meta) void meta.put(w.meta)
        }
        await tx.done
        for (const w of group) w.resolve()
      } catch (e) {
        for (const w of group) w.reject(e)
      }
    }
    running = false
  }
  const write = (w: Omit<Write, 'resolve' | 'reject'>) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ ...w, resolve, reject })
      if (!running) void run()
    })
  writers.set(db, write)
  return write
}

const rangeOf = (device: string) => IDBKeyRange.bound([device, -Infinity], [device, Infinity])
const strip = ({ device: _d, seq: _s, ...batch }: OutboxRow): SealedBatch => batch

/** The storage of one device (`device`: any stable name, e.g. the MCU's index on this page). */
export async function idbStorage(db: McuDatabase, device: string): Promise<IdbStorage> {
  const tx = db.transaction(['outbox', 'meta'], 'readonly')
  const [rows, meta] = await Promise.all([
    tx.objectStore('outbox').getAll(rangeOf(device)),
    tx.objectStore('meta').get(device),
  ])
  await tx.done
  // The copy: batches oldest first, with their seq.
  let kept: OutboxRow[] = rows
  let nextSeq = meta?.nextSeq ?? (rows.at(-1)?.seq ?? -1) + 1
  let dropped = meta?.dropped ?? 0
  const write = writerOf(db)

  return {
    identity: {
      extractableKeys: false,
      async loadIdentity(): Promise<Identity | null> {
        const row = await db.get('identity', device)
        return row ? { keyPair: row.keyPair, deviceId: row.deviceId } : null
      },
      async saveIdentity(identity) {
        await db.put('identity', { device, keyPair: identity.keyPair, deviceId: identity.deviceId })
      },
    },
    outbox: {
      async append(batch, limit) {
        const row: OutboxRow = { ...batch, device, seq: nextSeq++ }
        const excess = Math.max(0, kept.length + 1 - limit)
        const gone = kept.slice(0, excess)
        await write({
          puts: [row],
          deletes: gone.map((old) => [device, old.seq]),
          meta: { device, nextSeq, dropped: dropped + excess },
        })
        dropped += excess
        const removed = new Set(gone)
        kept = [...kept.filter((b) => !removed.has(b)), row]
        return excess
      },
      oldest: async (n) => kept.slice(0, n).map(strip),
      async delete(ids) {
        const wanted = new Set(ids)
        const gone = kept.filter((b) => wanted.has(b.id))
        if (gone.length === 0) return
        await write({ puts: [], deletes: gone.map((b) => [device, b.seq]) })
        kept = kept.filter((b) => !wanted.has(b.id))
      },
      count: async () => kept.length,
      dropped: async () => dropped,
    },
    apps: idbAppStore(db),
    depth: () => kept.length,
  }
}

/** Module bytes by sha256; bytes that no longer match their sha256 are answered as absent. */
export function idbAppStore(db: McuDatabase): AppStore {
  return {
    async put(sha256, bytes) {
      await db.put('apps', { sha256, bytes: bytes.slice() })
    },
    async get(sha256) {
      const row = await db.get('apps', sha256)
      if (!row) return null
      const digest = new Uint8Array(
        await crypto.subtle.digest('SHA-256', row.bytes as Uint8Array<ArrayBuffer>),
      )
      const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
      return hex === sha256 ? row.bytes : null
    },
    async delete(sha256) {
      await db.delete('apps', sha256)
    },
    list: () => db.getAllKeys('apps'),
  }
}

/** Forgets every device of the database (the page's "forget all" and tests). */
export async function clearMcuDatabase(db: McuDatabase): Promise<void> {
  const w = db.transaction(['identity', 'outbox', 'meta', 'apps'], 'readwrite')
  await Promise.all([
    w.objectStore('identity').clear(),
    w.objectStore('outbox').clear(),
    w.objectStore('meta').clear(),
    w.objectStore('apps').clear(),
    w.done,
  ])
}
