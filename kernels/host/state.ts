// The host side of the per-device `state` detector (kernels/assembly/state.ts): its snapshot, its
// verdict words and one run over a batch of a device's rows. Only WebAssembly and typed arrays.
import * as L from '../layout.js'
import { KernelStateError } from './kernel.js'

export interface StateResult {
  /** Per row: the distance over the bound, squashed into [0, 1); >= 0.5 exactly when flagged. */
  scores: Float64Array
  /** Per row: a verdict word (see isFlagged and topMetrics). */
  verdicts: Uint32Array
  /** The device's state after the batch: store it, pass it to the next run. */
  state: Uint8Array
}

/** What the state detector needs from the kernel's exports. */
export interface StateExports {
  memory: WebAssembly.Memory
  resetState(): void
  processState(n: number, d: number): void
}

/** A device snapshot's size: the whole state block, whatever the number of metrics. */
export const DEVICE_STATE_BYTES = L.DEVICE_STATE_COUNT * 8

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

/** Throws unless bytes are a device snapshot this kernel makes (size and version). */
export function checkDeviceSnapshot(state: Uint8Array): void {
  if (state.byteLength !== DEVICE_STATE_BYTES)
    throw new KernelStateError(`a device state of ${state.byteLength} bytes is not one this kernel makes`)
  const version = new DataView(state.buffer, state.byteOffset, 8).getFloat64(0, true)
  if (version !== L.DEVICE_STATE_VERSION)
    throw new KernelStateError(`device state version ${version} is not supported`)
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
  if (state) checkDeviceSnapshot(state)
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
  const bytes = new Uint8Array(mem)
  new Float64Array(mem, L.DEV_PARAMS_PTR, L.STATE_PARAM_COUNT).set(params)
  wasm.resetState()
  if (state) bytes.set(state, L.DEV_STATE_PTR)
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
  return { scores, verdicts, state: bytes.slice(L.DEV_STATE_PTR, L.DEV_STATE_PTR + DEVICE_STATE_BYTES) }
}
