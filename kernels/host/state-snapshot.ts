// A device state's snapshot holds only the metrics the device has: the kernel's block is laid out for
// STATE_METRICS_MAX metrics (vectors of 16, matrices of 16 x 16), and a device of d metrics uses the
// first d entries of each vector and the top-left d x d of each matrix; the rest stays zero. Stored
// whole, a pump's 6 metrics would cost 4,800 bytes a commit instead of 880 (a 2-metric device: 208).
import * as L from '../layout.js'

const VECTORS = [L.DS_COUNT, L.DS_MEAN, L.DS_SPREAD, L.DS_SCALE, L.DS_PIVOT]
const MATRICES = [L.DS_COMOMENT, L.DS_CHOL]
/** Slots before the first vector: version, rows, baseline, columns, fitted, bound... */
const HEADER = L.DS_COUNT
const M = L.STATE_METRICS_MAX

/** Snapshot size for d metrics. */
export const snapshotBytes = (d: number): number =>
  (HEADER + VECTORS.length * d + MATRICES.length * d * d) * 8

/** The number of metrics a snapshot of this size holds, or undefined for a size no snapshot has. */
export function snapshotMetrics(byteLength: number): number | undefined {
  for (let d = 1; d <= M; d++) if (snapshotBytes(d) === byteLength) return d
  return undefined
}

/** For each slot of a d-metric snapshot, the slot of the whole block it holds (cached per d). */
const slotsByMetrics: Int32Array[] = []
function slotsOf(d: number): Int32Array {
  let slots = slotsByMetrics[d]
  if (slots) return slots
  slots = new Int32Array(snapshotBytes(d) / 8)
  let at = 0
  for (let k = 0; k < HEADER; k++) slots[at++] = k
  for (const v of VECTORS) for (let i = 0; i < d; i++) slots[at++] = v + i
  for (const m of MATRICES)
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) slots[at++] = m + i * M + j
  slotsByMetrics[d] = slots
  return slots
}

/** The first d metrics of a whole state block, as a snapshot. */
export function packState(block: Float64Array, d: number): Uint8Array {
  const slots = slotsOf(d)
  const out = new Float64Array(slots.length)
  for (let k = 0; k < slots.length; k++) out[k] = block[slots[k]!]!
  return new Uint8Array(out.buffer)
}

/** Writes a snapshot of d metrics into a zeroed whole state block. */
export function unpackState(snapshot: Uint8Array, d: number, block: Float64Array): void {
  // A copy: the snapshot's bytes may sit at any offset of their buffer.
  const src = new Float64Array(snapshot.slice().buffer)
  const slots = slotsOf(d)
  for (let k = 0; k < slots.length; k++) block[slots[k]!] = src[k]!
}
