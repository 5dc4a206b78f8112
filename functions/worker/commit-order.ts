// The order in which a split batch's parts are committed (front-door.ts sends them one after the
// other, each answered once its shard committed it).
import type { IngestPart } from './split.js'

/**
 * The order to commit the parts in (front-door.ts sends them one after the other). The store numbers
 * what each commit holds, and listings and the export break ties between equal times by that number:
 * one writer numbers a batch in record order. Parts are contiguous runs of numbers, so wherever
 * records of two parts share a time, the part whose record comes first there goes first. A fleet
 * whose devices report in a steady order at shared times gets exactly one writer's numbering; when
 * the batch orders them both ways, the parts go in the order they first appear.
 */
export function inCommitOrder(parts: IngestPart[], records: number): IngestPart[] {
  const partOf = new Int32Array(records)
  const tsOf = new Float64Array(records)
  parts.forEach((p, i) => {
    p.ordinals.forEach((o, k) => {
      partOf[o] = i
      tsOf[o] = p.records[k]!.ts
    })
  })
  const before = parts.map(() => new Set<number>())
  const lastAt = new Map<number, number>()
  for (let o = 0; o < records; o++) {
    const previous = lastAt.get(tsOf[o]!)
    if (previous !== undefined && previous !== partOf[o]) before[partOf[o]!]!.add(previous)
    lastAt.set(tsOf[o]!, partOf[o]!)
  }
  const out: IngestPart[] = []
  const done = new Set<number>()
  while (out.length < parts.length) {
    const ready = parts.findIndex((_, i) => !done.has(i) && [...before[i]!].every((b) => done.has(b)))
    const next = ready >= 0 ? ready : parts.findIndex((_, i) => !done.has(i)) // both ways: first seen
    done.add(next)
    out.push(parts[next]!)
  }
  return out
}
