// The import worker: files and server exports into IndexedDB, off the main thread (comlink).
import { expose, type ProxyOrClone } from 'comlink'
import { type Dataset, DatasetStore } from '../store/datasets.js'
import { type ImportProgress, type ImportSource, importRows } from './import.js'
import { exportUrl, type ServerPull } from './server-export.js'

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
    const url = exportUrl(pull, self.location.origin)
    let res: Response
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${pull.token}` } })
    } catch (e) {
      throw new Error(`cannot reach ${url.origin}: ${(e as Error).message}`)
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '')
      let message = text.slice(0, 300)
      try {
        message = (JSON.parse(text) as { error: { message: string } }).error.message
      } catch {}
      throw new Error(`the server answered ${res.status}: ${message}`)
    }
    const length = Number(res.headers.get('content-length'))
    const label = `${pull.deviceId || 'all devices'} from ${url.host}`
    return run(
      {
        stream: res.body,
        name: `${label}.ndjson`,
        source: url.toString(),
        fromServer: true,
        totalBytes: Number.isFinite(length) && length > 0 ? length : undefined,
      },
      onProgress,
    )
  },
}

export type ImportApi = typeof api

expose(api)
