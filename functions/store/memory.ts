// An in-memory Store for unit tests of the rest of the app. It mirrors the SQLite adapter's
// observable behaviour: ids assigned like rowids, the same orderings (text in UTF-8 byte order),
// cursors, purge-by-prefix and idempotency semantics.
import type {
  DeviceSummary,
  Page,
  SeriesState,
  StoredAnomaly,
  StoredDeadLetter,
  StoredRecord,
  WindowFeatureRow,
} from '../domain/types.js'
import { deviceDeltas } from './devices.js'
import {
  anomalyCursor,
  checkLimit,
  checkTime,
  deadLetterCursor,
  deviceCursor,
  EXPORT_PAGE_SIZE,
  toPage,
} from './paging.js'
import {
  type AnomalyQuery,
  type ExportQuery,
  type IngestCommit,
  type PageQuery,
  type PurgeResult,
  type Store,
  seriesKey,
} from './port.js'

type Stamped<T> = T & { id: number; createdAt: number }

export function createMemoryStore(): Store {
  return new MemoryStore()
}

class MemoryStore implements Store {
  // Each array is in id order, like a table in rowid order.
  readonly #records: StoredRecord[] = []
  readonly #anomalies: Stamped<StoredAnomaly>[] = []
  readonly #windows: Stamped<WindowFeatureRow>[] = []
  readonly #deadLetters: StoredDeadLetter[] = []
  /** Insertion order stands for rowid order. */
  readonly #idempotency = new Map<string, { status: number; response: string; createdAt: number }>()
  readonly #series = new Map<string, SeriesState>()
  readonly #devices = new Map<string, DeviceSummary>()

  async loadStates(series: { deviceId: string; metric: string }[]): Promise<Map<string, SeriesState>> {
    const states = new Map<string, SeriesState>()
    for (const { deviceId, metric } of series) {
      const key = seriesKey(deviceId, metric)
      const state = this.#series.get(key)
      if (state) states.set(key, copyState(state))
    }
    return states
  }

  async findIdempotent(key: string): Promise<{ status: number; response: string } | undefined> {
    const entry = this.#idempotency.get(key)
    return entry && { status: entry.status, response: entry.response }
  }

  async commitIngest(batch: IngestCommit): Promise<void> {
    const at = batch.receivedAt
    const keys = batch.idempotency ?? []
    // The only way this commit can fail, checked before anything changes (all or nothing).
    const seen = new Set<string>()
    for (const { key } of keys) {
      if (this.#idempotency.has(key) || seen.has(key)) throw new Error('idempotency key already committed')
      seen.add(key)
    }
    for (const { record, score, kinds } of batch.records) {
      const { deviceId, ts, level, body } = record
      const id = nextId(this.#records)
      this.#records.push({ id, deviceId, ts, ingestedAt: at, level, score, kinds: [...kinds], body })
    }
    for (const a of batch.anomalies) {
      this.#anomalies.push({ ...copyAnomaly({ ...a, id: nextId(this.#anomalies) }), createdAt: at })
    }
    for (const w of batch.windows) {
      this.#windows.push({ ...copyWindow(w), id: nextId(this.#windows), createdAt: at })
    }
    for (const d of batch.deadLetters) {
      this.#deadLetters.push(copyDeadLetter({ ...d, id: nextId(this.#deadLetters) }))
    }
    for (const s of batch.states) this.#series.set(seriesKey(s.deviceId, s.metric), copyState(s))
    for (const d of deviceDeltas(batch)) {
      const old = this.#devices.get(d.deviceId)
      this.#devices.set(d.deviceId, {
        deviceId: d.deviceId,
        firstSeen: old ? old.firstSeen : at,
        lastSeen: at,
        lastTs: old ? Math.max(old.lastTs, d.lastTs) : d.lastTs,
        recordCount: (old?.recordCount ?? 0) + d.records,
        anomalyCount: (old?.anomalyCount ?? 0) + d.anomalies,
      })
    }
    for (const k of keys)
      this.#idempotency.set(k.key, { status: k.status, response: k.response, createdAt: at })
  }

  async listAnomalies(query: AnomalyQuery): Promise<Page<StoredAnomaly>> {
    checkLimit(query.limit)
    const after = query.cursor === undefined ? undefined : anomalyCursor.decode(query.cursor)
    const { deviceId, kind, since, until } = query
    const rows = this.#anomalies
      .filter(
        (a) =>
          (deviceId === undefined || a.deviceId === deviceId) &&
          (kind === undefined || a.kind === kind) &&
          (since === undefined || a.ts >= since) &&
          (until === undefined || a.ts < until) &&
          (after === undefined || a.ts < after.ts || (a.ts === after.ts && a.id < after.id)),
      )
      .sort((a, b) => b.ts - a.ts || b.id - a.id)
      .slice(0, query.limit + 1)
      .map(copyAnomaly)
    return toPage(rows, query.limit, anomalyCursor.encode)
  }

  async listDevices(query: PageQuery): Promise<Page<DeviceSummary>> {
    checkLimit(query.limit)
    const after = query.cursor === undefined ? undefined : deviceCursor.decode(query.cursor)
    const rows = [...this.#devices.values()]
      .filter((d) => after === undefined || compareText(d.deviceId, after) > 0)
      .sort((a, b) => compareText(a.deviceId, b.deviceId))
      .slice(0, query.limit + 1)
      .map((d) => ({ ...d }))
    return toPage(rows, query.limit, (d) => deviceCursor.encode(d.deviceId))
  }

  async getDevice(deviceId: string): Promise<DeviceSummary | undefined> {
    const device = this.#devices.get(deviceId)
    return device && { ...device }
  }

  async recentRecords(
    deviceId: string,
    metric: string,
    limit: number,
    since: number,
  ): Promise<StoredRecord[]> {
    checkLimit(limit)
    checkTime(since, 'since')
    return this.#records
      .filter((r) => r.deviceId === deviceId && r.ts >= since && hasNumericMetric(r.body, metric))
      .sort((a, b) => b.ts - a.ts || b.id - a.id)
      .slice(0, limit)
      .map(copyRecord)
  }

  async recentWindows(
    deviceId: string,
    metric: string,
    limit: number,
    since: number,
  ): Promise<WindowFeatureRow[]> {
    checkLimit(limit)
    checkTime(since, 'since')
    return this.#windows
      .filter((w) => w.deviceId === deviceId && w.metric === metric && w.end >= since)
      .sort((a, b) => b.end - a.end || b.id - a.id)
      .slice(0, limit)
      .map(copyWindow)
  }

  /** Page by page over the live data, with the SQL adapter's keyset semantics. */
  async *exportRecords(query: ExportQuery): AsyncGenerator<StoredRecord> {
    const { deviceId, since, until } = query
    let after: StoredRecord | undefined
    for (;;) {
      const from = after
      const page = this.#records
        .filter(
          (r) =>
            (deviceId === undefined || r.deviceId === deviceId) &&
            (since === undefined || r.ts >= since) &&
            (until === undefined || r.ts < until) &&
            (from === undefined || compareExport(r, from) > 0),
        )
        .sort(compareExport)
        .slice(0, EXPORT_PAGE_SIZE)
      for (const r of page) yield copyRecord(r)
      after = page[page.length - 1]
      if (!after || page.length < EXPORT_PAGE_SIZE) return
    }
  }

  async listDeadLetters(query: PageQuery): Promise<Page<StoredDeadLetter>> {
    checkLimit(query.limit)
    const after = query.cursor === undefined ? undefined : deadLetterCursor.decode(query.cursor)
    const rows = this.#deadLetters
      .filter((d) => after === undefined || d.id < after)
      .reverse()
      .slice(0, query.limit + 1)
      .map(copyDeadLetter)
    return toPage(rows, query.limit, (d) => deadLetterCursor.encode(d.id))
  }

  async purge(ingestedBefore: number): Promise<PurgeResult> {
    if (Number.isNaN(ingestedBefore)) throw new RangeError('purge cutoff is NaN')
    const cutoff = ingestedBefore
    let idempotency = 0
    for (const [key, entry] of this.#idempotency) {
      if (entry.createdAt >= cutoff) break
      this.#idempotency.delete(key)
      idempotency++
    }
    return {
      records: purgeFront(this.#records, (r) => r.ingestedAt >= cutoff),
      anomalies: purgeFront(this.#anomalies, (a) => a.createdAt >= cutoff),
      windows: purgeFront(this.#windows, (w) => w.createdAt >= cutoff),
      deadLetters: purgeFront(this.#deadLetters, (d) => d.receivedAt >= cutoff),
      idempotency,
    }
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}

/** SQLite's rowid choice: one more than the largest id, 1 in an empty table. */
function nextId(rows: { id: number }[]): number {
  return (rows[rows.length - 1]?.id ?? 0) + 1
}

/** Deletes every row before the first one to keep, like the SQL adapters' rowid-range delete. */
function purgeFront<T>(rows: T[], keep: (row: T) => boolean): number {
  const first = rows.findIndex(keep)
  return rows.splice(0, first === -1 ? rows.length : first).length
}

// Copies in and out, field by field: callers can neither alias stored data nor see extra fields.
function copyRecord(r: StoredRecord): StoredRecord {
  const { id, deviceId, ts, ingestedAt, level, score, kinds, body } = r
  return { id, deviceId, ts, ingestedAt, level, score, kinds: [...kinds], body }
}

function copyAnomaly(a: StoredAnomaly): StoredAnomaly {
  const { id, deviceId, ts, kind, metric, value, score, detail } = a
  // SQLite stores NaN as NULL.
  return { id, deviceId, ts, kind, metric, value: Number.isNaN(value) ? null : value, score, detail }
}

function copyWindow(w: WindowFeatureRow): WindowFeatureRow {
  const { deviceId, metric, start, end, count, mean, std, min, max, range } = w
  return { deviceId, metric, start, end, count, mean, std, min, max, range }
}

function copyDeadLetter(d: StoredDeadLetter): StoredDeadLetter {
  const { id, receivedAt, position, reason, contentType, raw } = d
  return { id, receivedAt, position, reason, contentType, raw }
}

function copyState(s: SeriesState): SeriesState {
  const { deviceId, metric, state, lastTs, sampleCount } = s
  return { deviceId, metric, state: new Uint8Array(state), lastTs, sampleCount }
}

/** Export order: time order across devices (ts, then id). */
function compareExport(a: StoredRecord, b: StoredRecord): number {
  return a.ts - b.ts || a.id - b.id
}

/**
 * Compares strings in UTF-8 byte order (code point order), as SQLite's BINARY collation does.
 * UTF-16 order differs only where a surrogate meets U+E000..U+FFFF, so those are fixed up.
 */
export function compareText(a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    if (x >= 0xd800 && y >= 0xd800) {
      x += x >= 0xe000 ? -0x800 : 0x2000
      y += y >= 0xe000 ? -0x800 : 0x2000
    }
    return x - y
  }
  return a.length - b.length
}

/** The JS reading of the SQL filter: a JSON number under the key, top-level or under `metrics`. */
function hasNumericMetric(body: string, metric: string): boolean {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    return false
  }
  return isNumberAt(value, metric) || (isObject(value) && isNumberAt(own(value, 'metrics'), metric))
}

function isNumberAt(value: unknown, key: string): boolean {
  return isObject(value) && typeof own(value, key) === 'number'
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function own(value: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(value, key) ? value[key] : undefined
}
