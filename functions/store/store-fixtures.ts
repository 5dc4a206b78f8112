// Small builders and helpers for the store tests.
import type { Anomaly, DeadLetter, Level, Page, SeriesState, WindowFeatureRow } from '../domain/types.js'
import { POSITIONS } from './chunks.js'
import { emptyCommit, type IdempotentAnswer, type IngestCommit } from './port.js'

export type Entry = IngestCommit['records'][number]

export function entry(
  deviceId: string,
  ts: number,
  fields: Record<string, unknown> = {},
  options: { level?: Level; score?: number; kinds?: string[] } = {},
): Entry {
  return {
    record: {
      deviceId,
      ts,
      level: options.level,
      msg: undefined,
      metrics: [],
      body: JSON.stringify({ deviceId, ts, ...fields }),
    },
    score: options.score ?? 0,
    kinds: options.kinds ?? [],
  }
}

export function anomaly(deviceId: string, ts: number, kind = 'spike', rest: Partial<Anomaly> = {}): Anomaly {
  return { deviceId, ts, kind, metric: 'temp', value: 1.5, score: 0.9, detail: 'z > 4', ...rest }
}

export function window(deviceId: string, metric: string, end: number, mean = 1): WindowFeatureRow {
  return { deviceId, metric, start: end - 60_000, end, count: 10, mean, std: 0.5, min: 0, max: 2, range: 2 }
}

export function deadLetter(receivedAt: number, position = 'line 1'): DeadLetter {
  return { receivedAt, position, reason: 'invalid JSON', contentType: 'application/x-ndjson', raw: '{oops' }
}

export function batch(
  receivedAt: number,
  parts: Partial<Omit<IngestCommit, 'receivedAt'>> = {},
): IngestCommit {
  return { ...emptyCommit(receivedAt), ...parts }
}

/** The id of the record at `position` of the `commit`-th commit of a fresh store (see chunks.ts). */
export const recordId = (commit: number, position: number): number => commit * POSITIONS + position

/** Status as of now, with the default heartbeat timeout. */
export const LIVE = { now: Date.now(), timeoutMs: 90_000 }

/** A series state read at `version` (0: new), so that a commit of it stores version + 1. */
export function seriesState(
  deviceId: string,
  metric: string,
  bytes: number[] | Uint8Array,
  options: { lastTs?: number; sampleCount?: number; version?: number } = {},
): SeriesState {
  return {
    deviceId,
    metric,
    state: new Uint8Array(bytes),
    lastTs: options.lastTs ?? 0,
    sampleCount: options.sampleCount ?? 1,
    version: options.version ?? 0,
  }
}

/** An idempotent answer; bodyHash null unless given. */
export function answer(
  key: string,
  status = 202,
  response = '',
  bodyHash: string | null = null,
): IdempotentAnswer {
  return { key, status, response, bodyHash }
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = []
  for await (const item of items) all.push(item)
  return all
}

/** Follows `next` to the end, checking each page's size; returns all items in order. */
export async function walk<T>(limit: number, fetch: (cursor?: string) => Promise<Page<T>>): Promise<T[]> {
  const all: T[] = []
  let cursor: string | undefined
  for (let pages = 0; ; pages++) {
    if (pages > 10_000) throw new Error('pagination does not end')
    const page = await fetch(cursor)
    if (page.items.length > limit) throw new Error(`page of ${page.items.length} > limit ${limit}`)
    if (page.next !== null && page.items.length !== limit) throw new Error('short page with a next cursor')
    all.push(...page.items)
    if (page.next === null) return all
    cursor = page.next
  }
}

/** SQLite's BINARY collation on UTF-8 text. */
export function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}
