// The import: rows to records to chunks in IndexedDB, in batched transactions, with progress.
// Runs in the import worker; a row that is not a valid record is counted and reported by line.
// A server export is checked against its last line (footer or error): an incomplete one fails.
import { ExportCheck, pickColumns, type RowColumns, rowToRecord } from '../../../functions/domain/rows.js'
import { type Chunk, ChunkBuilder } from '../store/chunk.js'
import { type Dataset, type DatasetStore, newDatasetId } from '../store/datasets.js'
import { readRows } from './read.js'

export interface ImportProgress {
  bytes: number
  /** Total bytes when known (a file's size; a download's Content-Length). */
  totalBytes: number | undefined
  records: number
  invalid: number
}

export interface ImportSource {
  stream: ReadableStream<Uint8Array>
  name: string
  source: string
  fromServer: boolean
  totalBytes: number | undefined
  /** Device id for rows without a device column. */
  device?: string
  /** A download of the server's export: without its footer at the end, it was cut short. */
  footerRequired?: boolean
}

/** Chunks per IndexedDB transaction. */
const CHUNKS_PER_WRITE = 4
const MAX_PROBLEMS = 100

export async function importRows(
  store: DatasetStore,
  src: ImportSource,
  onProgress: (p: ImportProgress) => void = () => {},
): Promise<Dataset> {
  const dataset: Dataset = {
    id: newDatasetId(),
    name: src.name,
    createdAt: Date.now(),
    source: src.source,
    fromServer: src.fromServer,
    bytes: 0,
    records: 0,
    invalid: 0,
    problems: [],
    devices: [],
    metrics: [],
    first: Number.POSITIVE_INFINITY,
    last: Number.NEGATIVE_INFINITY,
    chunks: 0,
    complete: false,
  }
  const devices = new Set<string>()
  const metrics = new Set<string>()
  const builder = new ChunkBuilder(dataset.id)
  let pending: Chunk[] = []
  let columns: RowColumns | undefined
  const progress = () =>
    onProgress({
      bytes: dataset.bytes,
      totalBytes: src.totalBytes,
      records: dataset.records,
      invalid: dataset.invalid,
    })
  const problem = (line: number, reason: string) => {
    dataset.invalid++
    if (dataset.problems.length < MAX_PROBLEMS) dataset.problems.push({ line, reason })
  }
  const write = async (force: boolean) => {
    const last = force ? builder.take() : undefined
    if (last) pending.push(last)
    if (pending.length === 0 || (!force && pending.length < CHUNKS_PER_WRITE)) return
    dataset.chunks += pending.length
    dataset.devices = [...devices]
    dataset.metrics = [...metrics]
    await store.append(dataset, pending)
    pending = []
    progress()
  }

  const exportCheck = new ExportCheck()
  await store.save(dataset)
  try {
    for await (const row of readRows(src.stream, { name: src.name, onBytes: (n) => (dataset.bytes += n) })) {
      if (exportCheck.isEnd(row)) continue
      if (!row.fields || row.error) {
        problem(row.line, row.error ?? 'unreadable row')
        continue
      }
      columns ??= pickColumns(row.fields)
      const r = rowToRecord(row.fields, columns, src.device ?? 'device', row.text)
      if (typeof r === 'string') {
        problem(row.line, r)
        continue
      }
      const { record, server } = r
      dataset.records++
      devices.add(record.deviceId)
      for (const [m] of record.metrics) metrics.add(m)
      if (record.ts < dataset.first) dataset.first = record.ts
      if (record.ts > dataset.last) dataset.last = record.ts
      const chunk = builder.add(record, server, row.line)
      if (chunk) {
        pending.push(chunk)
        await write(false)
      }
      if ((dataset.records & 0x3fff) === 0) progress()
    }
    const state = exportCheck.finish(src.footerRequired)
    if (typeof state === 'object') throw new Error(`the server's export is incomplete: ${state.incomplete}`)
    await write(true)
  } catch (e) {
    await store.remove(dataset.id)
    throw e
  }
  if (dataset.records === 0) {
    await store.remove(dataset.id)
    const first = dataset.problems[0]
    throw new Error(
      first ? `no valid records; line ${first.line}: ${first.reason}` : 'the input holds no records',
    )
  }
  dataset.devices = [...devices]
  dataset.metrics = [...metrics]
  dataset.complete = true
  await store.save(dataset)
  progress()
  return dataset
}
