// The import worker: files and server exports into IndexedDB, off the main thread (comlink).
import { expose, type ProxyOrClone } from 'comlink'
import { type Dataset, DatasetStore } from '../store/datasets.js'
import { type ImportProgress, type ImportSource, importRows } from './import.js'
import { pullSource, type ServerPull } from './server-export.js'

type OnProgress = ProxyOrClone<(p: ImportProgress) => void>

const PROGRESS_EVERY_MS = 100

/** Calls `onProgress` at most every 100 ms (and always for the last report). */
function throttled(onProgress: OnProgress) {
  let last = 0
  return (p: ImportProgress) => {
    const now = performance.now()
    if (now - last < PROGRESS_EVERY_MS && p.totalBytes !== p.bytes) return
    last = now
    void onProgress(p)
  }
}

async function run(src: ImportSource, onProgress: OnProgress): Promise<Dataset> {
  const store = await DatasetStore.open()
  try {
    return await importRows(store, src, throttled(onProgress))
  } finally {
    store.close()
  }
}

const api = {
  importFile(file: File, onProgress: OnProgress): Promise<Dataset> {
    return run(
      { stream: file.stream(), name: file.name, source: file.name, fromServer: false, totalBytes: file.size },
      onProgress,
    )
  },

  async importFromServer(pull: ServerPull, onProgress: OnProgress): Promise<Dataset> {
    return run(await pullSource(pull, self.location.origin), onProgress)
  },
}

export type ImportApi = typeof api

expose(api)
