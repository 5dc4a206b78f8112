// The host side of the per-device `state` detector (kernels/assembly/state.ts): its snapshot, its
// verdict words and one run over a batch of a device's rows. Only WebAssembly and typed arrays.
import * as L from '../layout.js'
import { KernelStateError } from './kernel.js'
import { packState, snapshotMetrics, unpackState } from './state-snapshot.js'

export interface StateResult {
  /** Per row: the distance over the bound, squashed into [0, 1); >= 0.5 exactly when flagged. */
  scores: Float64Array
  /** Per row: a verdict word (see isFlagged and topMetrics). */
  verdicts: Uint32Array
  /** The device's state after the batch, its first d metrics (state-snapshot.ts): store it, pass it on. */
  state: Uint8Array
}

/** What the state detector needs from the kernel's exports. */
export interface StateExports {
  memory: WebAssembly.Memory
  resetState(): void
  processState(n: number, d: number): void
}

export const isFlagged = (verdict: number): boolean => (verdict & 1) === 1

/** The metrics (column indices) that weigh most in a flagged row's distance, largest first. */
export function topMetrics(verdict: number): number[] {
  const out: number[] = []
  if (!isFlagged(verdict)) return out
  for (let t = 1; t <= 3; t++) {
    const index = (verdict >>> (8 * t)) & 255
    if (index !== L.NO_METRIC) out.push(index)
  }
  return out
}

/**
 * Throws unless bytes are a device snapshot this kernel makes (size and version); returns how many
 * metrics it holds.
 */
export function checkDeviceSnapshot(state: Uint8Array): number {
  const d = snapshotMetrics(state.byteLength)
  if (d === undefined)
    throw new KernelStateError(`a device state of ${state.byteLength} bytes is not one this kernel makes`)
  const version = new DataView(state.buffer, state.byteOffset, 8).getFloat64(0, true)
  if (version !== L.DEVICE_STATE_VERSION)
    throw new KernelStateError(`device state version ${version} is not supported`)
  return d
}

/** The checks every host makes before a state run, with the same errors (RangeError, KernelStateError). */
export function checkStateRun(
  state: Uint8Array | undefined,
  rows: Float64Array,
  d: number,
  params: Float64Array,
): void {
  if (!Number.isInteger(d) || d < 1 || d > L.STATE_METRICS_MAX)
    throw new RangeError(`a device row has 1 to ${L.STATE_METRICS_MAX} metrics, not ${d}`)
  if (rows.length % d !== 0) throw new RangeError('rows must hold d values per row')
  if (params.length !== L.STATE_PARAM_COUNT)
    throw new RangeError(`state params must have ${L.STATE_PARAM_COUNT} slots`)
  if (state && checkDeviceSnapshot(state) > d)
    throw new RangeError(
      `a device state of ${snapshotMetrics(state.byteLength)} metrics takes rows of as many`,
    )
}

/** A snapshot as the kernel's whole state block (what the kernel component takes and gives). */
export function expandState(state: Uint8Array): Uint8Array {
  const block = new Float64Array(L.DEVICE_STATE_COUNT)
  unpackState(state, checkDeviceSnapshot(state), block)
  return new Uint8Array(block.buffer)
}

/** The kernel's whole state block as the snapshot of its first d metrics. */
export function shrinkState(block: Uint8Array, d: number): Uint8Array {
  return packState(new Float64Array(block.slice().buffer), d)
}

/**
 * Runs the state detector over `rows` (row-major, `d` values a row, NaN for a missing metric) from
 * `state` (undefined: a device that has seen nothing), in chunks of DEV_CAPACITY rows.
 */
export function runState(
  wasm: StateExports,
  state: Uint8Array | undefined,
  rows: Float64Array,
  d: number,
  params: Float64Array,
): StateResult {
  checkStateRun(state, rows, d, params)
  const mem = wasm.memory.buffer
  new Float64Array(mem, L.DEV_PARAMS_PTR, L.STATE_PARAM_COUNT).set(params)
  wasm.resetState()
  const block = new Float64Array(mem, L.DEV_STATE_PTR, L.DEVICE_STATE_COUNT)
  if (state) unpackState(state, snapshotMetrics(state.byteLength)!, block)
  const n = rows.length / d
  const scores = new Float64Array(n)
  const verdicts = new Uint32Array(n)
  for (let offset = 0; offset < n; offset += L.DEV_CAPACITY) {
    const len = Math.min(L.DEV_CAPACITY, n - offset)
    new Float64Array(mem, L.DEV_ROWS_PTR, len * d).set(rows.subarray(offset * d, (offset + len) * d))
    wasm.processState(len, d)
    scores.set(new Float64Array(mem, L.DEV_SCORE_PTR, len), offset)
    verdicts.set(new Uint32Array(mem, L.DEV_VERDICT_PTR, len), offset)
  }
  return { scores, verdicts, state: packState(block, d) }
}
