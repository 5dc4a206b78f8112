// The datasets kept in IndexedDB (with idb): a summary per dataset and its records in chunks.
// Chunks are written in batched transactions; deleting a dataset deletes its chunks.
import { type DBSchema, type IDBPDatabase, openDB } from 'idb'
import type { Chunk } from './chunk.js'

export interface Problem {
  line: number
  reason: string
}

export interface Dataset {
  id: string
  name: string
  createdAt: number
  /** Where it came from: a file name, or the server URL and query. */
  source: string
  fromServer: boolean
  bytes: number
  records: number
  /** Rows that could not be read, and the first of them with their line numbers. */
  invalid: number
  problems: Problem[]
  devices: string[]
  metrics: string[]
  first: number
  last: number
  chunks: number
  /** False while an import is running (or if it was interrupted). */
  complete: boolean
}

interface Schema extends DBSchema {
  datasets: { key: string; value: Dataset }
  chunks: { key: [string, number]; value: Chunk }
}

export const DB_NAME = 'edgewatch-replay'

export class DatasetStore {
  private constructor(private readonly db: IDBPDatabase<Schema>) {}

  static async open(name = DB_NAME): Promise<DatasetStore> {
    const db = await openDB<Schema>(name, 1, {
      upgrade(db) {
        db.createObjectStore('datasets', { keyPath: 'id' })
        db.createObjectStore('chunks', { keyPath: ['datasetId', 'index'] })
      },
    })
    return new DatasetStore(db)
  }

  close(): void {
    this.db.close()
  }

  async list(): Promise<Dataset[]> {
    const all = await this.db.getAll('datasets')
    return all.sort((a, b) => b.createdAt - a.createdAt)
  }

  get(id: string): Promise<Dataset | undefined> {
    return this.db.get('datasets', id)
  }

  async save(dataset: Dataset): Promise<void> {
    await this.db.put('datasets', dataset)
  }

  /** Writes chunks in one transaction, with the dataset's summary so far. */
  async append(dataset: Dataset, chunks: Chunk[]): Promise<void> {
    const tx = this.db.transaction(['datasets', 'chunks'], 'readwrite')
    const store = tx.objectStore('chunks')
    for (const chunk of chunks) {
      if (chunk.datasetId !== dataset.id) throw new Error('a chunk of another dataset')
      void store.put(chunk)
    }
    void tx.objectStore('datasets').put(dataset)
    await tx.done
  }

  async rename(id: string, name: string): Promise<Dataset> {
    const clean = name.trim()
    if (!clean) throw new Error('a dataset needs a name')
    if (clean.length > 200) throw new Error('a dataset name is at most 200 characters')
    const tx = this.db.transaction('datasets', 'readwrite')
    const dataset = await tx.store.get(id)
    if (!dataset) throw new Error(`no dataset ${id}`)
    dataset.name = clean
    await tx.store.put(dataset)
    await tx.done
    return dataset
  }

  async remove(id: string): Promise<void> {
    const tx = this.db.transaction(['datasets', 'chunks'], 'readwrite')
    void tx.objectStore('chunks').delete(IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]))
    void tx.objectStore('datasets').delete(id)
    await tx.done
  }

  /** The dataset's chunks in order. */
  async chunks(id: string): Promise<Chunk[]> {
    return this.db.getAll('chunks', IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]))
  }
}

/** Bytes used and available to this origin, when the browser says. */
export async function storageUse(): Promise<{ usage: number; quota: number } | undefined> {
  if (typeof navigator === 'undefined' || !navigator.storage?.estimate) return undefined
  const { usage = 0, quota = 0 } = await navigator.storage.estimate()
  return { usage, quota }
}

export function newDatasetId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}
