// A chunk: up to CHUNK_RECORDS imported records in columns, the unit stored in IndexedDB and
// loaded by the replay worker. Typed arrays clone fast, which keeps a million-record import short.
import { levelCode } from '../../../functions/domain/columns.js'
import type { ServerVerdict } from '../../../functions/domain/rows.js'
import type { DeviceRecord } from '../../../functions/domain/types.js'

export const CHUNK_RECORDS = 50_000

export interface MetricColumn {
  name: string
  /** One value per record of the chunk; NaN where the record does not carry the metric. */
  values: Float64Array
}

export interface Chunk {
  datasetId: string
  index: number
  n: number
  /** File line (or array position) of each record, for messages. */
  line: Uint32Array
  ts: Float64Array
  devices: string[]
  device: Uint32Array
  level: Uint8Array
  msg: (string | undefined)[]
  metrics: MetricColumn[]
  /** The record as JSON text, every field kept (for export). */
  body: string[]
  /** What the server said, when the data came from its export. */
  server?: { score: Float64Array; kinds: string[] }
}

/** Builds chunks record by record. */
export class ChunkBuilder {
  private index = 0
  private rows: { record: DeviceRecord; server: ServerVerdict | undefined; line: number }[] = []

  constructor(private readonly datasetId: string) {}

  get pending(): number {
    return this.rows.length
  }

  add(record: DeviceRecord, server: ServerVerdict | undefined, line: number): Chunk | undefined {
    this.rows.push({ record, server, line })
    return this.rows.length >= CHUNK_RECORDS ? this.take() : undefined
  }

  /** The records added so far as a chunk (undefined when there are none). */
  take(): Chunk | undefined {
    const rows = this.rows
    if (rows.length === 0) return undefined
    this.rows = []
    const n = rows.length
    const devices: string[] = []
    const deviceIndex = new Map<string, number>()
    const metrics = new Map<string, Float64Array>()
    const chunk: Chunk = {
      datasetId: this.datasetId,
      index: this.index++,
      n,
      line: new Uint32Array(n),
      ts: new Float64Array(n),
      devices,
      device: new Uint32Array(n),
      level: new Uint8Array(n),
      msg: [],
      metrics: [],
      body: new Array<string>(n),
    }
    const withServer = rows.some((r) => r.server)
    const server = withServer
      ? { score: new Float64Array(n), kinds: new Array<string>(n).fill('') }
      : undefined
    rows.forEach(({ record, server: verdict, line }, i) => {
      let d = deviceIndex.get(record.deviceId)
      if (d === undefined) {
        d = devices.length
        devices.push(record.deviceId)
        deviceIndex.set(record.deviceId, d)
      }
      chunk.line[i] = line
      chunk.ts[i] = record.ts
      chunk.device[i] = d
      chunk.level[i] = levelCode(record.level)
      if (record.msg !== undefined) chunk.msg[i] = record.msg
      chunk.body[i] = record.body
      for (const [name, value] of record.metrics) {
        let column = metrics.get(name)
        if (!column) {
          column = new Float64Array(n).fill(Number.NaN)
          metrics.set(name, column)
        }
        column[i] = value
      }
      if (server && verdict) {
        server.score[i] = verdict.score
        server.kinds[i] = verdict.kinds.join(',')
      }
    })
    for (const [name, values] of metrics) chunk.metrics.push({ name, values })
    if (server) chunk.server = server
    return chunk
  }
}
