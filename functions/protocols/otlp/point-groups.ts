// Data points gathered into records: the points of one export that share a key (the device, the
// time, the attribute set, the resource and scope: everything a record holds besides its metrics)
// become one record with all their metrics, as a device that reads several sensors at once sends
// one record of them. That is what the per-device state detector expects: each record with metrics
// is one row of the device's metrics.
//
// A name a record already holds is never overwritten: the point goes to a later record of the same
// key instead (the same name, time and attributes twice is two readings, and both are kept, each
// stored once; refusing one would lose a value an exporter sent in good faith, and OTLP gives no
// rule for which of the two is right). A point goes to the first record of its key that does not
// yet hold any of its names and has room (LIMITS.metricsPerRecord metrics, LIMITS.recordBytes of
// JSON): two points of each of two names at one time make two records of both names. The records
// come in the order their first point does.
//
// Work and memory stay linear in the export's points: a key's state is a map from each of its names
// to the first record that may take it, and a floor below which no record is tried again (a record
// that once could not take a point is passed over from then on), so each point tries few records.
import { LIMITS } from '../../domain/record.js'

/** A record with no metrics yet, and the length of its JSON (`"metrics":{}` among its fields). */
export interface RecordBase {
  fields: Record<string, unknown>
  size: number
}

/** A record being made: its fields (its `metrics` filled as points come) and the points it holds. */
export interface GroupedRecord<M> {
  fields: Record<string, unknown>
  members: M[]
}

interface Open<M> extends GroupedRecord<M> {
  metrics: Record<string, number>
  count: number
  size: number
}

interface Group<M> {
  base: RecordBase
  records: Open<M>[]
  /** For each name, the first of the key's records that does not hold it. */
  next: Map<string, number>
  floor: number
}

/** The reason a point alone makes a record past the size limit. */
export const TOO_LARGE = `the data point's record would be larger than ${LIMITS.recordBytes} bytes`

export class PointGroups<M> {
  /** Every record, in the order its first point came. */
  readonly records: GroupedRecord<M>[] = []
  private readonly groups = new Map<string, Group<M> | { refused: string }>()

  /**
   * Puts a point's metrics (`names[i]` is `values[i]`, `nameLengths[i]` its name's JSON length) in
   * a record of `key`; `open` makes the key's record base the first time, or says why the key's
   * points cannot be records. Returns the reason the point is refused, or undefined.
   */
  add(
    key: string,
    open: () => RecordBase | string,
    names: readonly string[],
    nameLengths: readonly number[],
    values: readonly number[],
    member: M,
  ): string | undefined {
    let group = this.groups.get(key)
    if (group === undefined) {
      const base = open()
      group = typeof base === 'string' ? { refused: base } : { base, records: [], next: new Map(), floor: 0 }
      this.groups.set(key, group)
    }
    if ('refused' in group) return group.refused
    // Each name as `"name":value` in the record's JSON (a number's JSON is its String()).
    let added = values.length - 1
    for (let i = 0; i < values.length; i++) added += nameLengths[i]! + 1 + String(values[i]).length
    let at = group.floor
    for (let i = 0; i < values.length; i++) at = Math.max(at, group.next.get(names[i]!) ?? 0)
    let record = group.records[at]
    while (record !== undefined && !fits(record, values.length, added + 1)) {
      group.floor = at + 1
      record = group.records[++at]
    }
    if (record === undefined) {
      if (!fits({ count: 0, size: group.base.size }, values.length, added)) return TOO_LARGE
      const metrics: Record<string, number> = Object.create(null)
      record = {
        fields: { ...group.base.fields, metrics },
        metrics,
        count: 0,
        size: group.base.size,
        members: [],
      }
      group.records.push(record)
      this.records.push(record)
    }
    record.size += record.count === 0 ? added : added + 1
    record.count += values.length
    for (let i = 0; i < values.length; i++) {
      record.metrics[names[i]!] = values[i]!
      group.next.set(names[i]!, at + 1)
    }
    record.members.push(member)
    return undefined
  }
}

/** Whether a record of `count` metrics and `size` JSON characters takes `more` metrics of `added` characters. */
function fits(record: { count: number; size: number }, more: number, added: number): boolean {
  return record.count + more <= LIMITS.metricsPerRecord && record.size + added <= LIMITS.recordBytes
}
