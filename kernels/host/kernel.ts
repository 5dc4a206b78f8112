// The one host API for the Wasm kernel, the same on Node, workerd, the Spin host and browser workers.
// Only WebAssembly and typed arrays: no runtime-specific import.
import * as L from '../layout.js'
import { runState, type StateExports, type StateResult } from './state.js'

export interface WindowFeature {
  start: number
  end: number
  count: number
  mean: number
  std: number
  min: number
  max: number
  range: number
}

export interface SeriesResult {
  /** Combined anomaly score per sample, in [0, 1); >= 0.5 exactly when a detector fired. */
  scores: Float64Array
  /** Verdict bits per sample (see kinds.ts). */
  flags: Uint8Array
  /** Windows closed by this batch, oldest first, packed W_FIELDS numbers each (see windowFeatures). */
  windows: Float64Array
  /** The series' state after the batch: store it, pass it to the next run. */
  state: Uint8Array
}

export interface Kernel {
  /** Runs one series over a batch. `state` undefined starts a fresh series. Throws on a bad state. */
  run(
    state: Uint8Array | undefined,
    ts: Float64Array,
    values: Float64Array,
    params: Float64Array,
  ): SeriesResult
  /**
   * Runs one device's state detector over rows of its metrics (row-major, d a row, NaN: missing).
   * `state` undefined starts a fresh device. Absent on a host whose kernel lacks it (the Spin component).
   */
  runState?(state: Uint8Array | undefined, rows: Float64Array, d: number, params: Float64Array): StateResult
}

export class KernelStateError extends Error {
  override name = 'KernelStateError'
}

interface Exports extends StateExports {
  memory: WebAssembly.Memory
  reset(): void
  process(from: number, n: number): number
  windowCount(): number
}

/** Instantiates the kernel from its bytes or a compiled module (workerd imports .wasm as a Module). */
export async function loadKernel(source: BufferSource | WebAssembly.Module): Promise<Kernel> {
  const instance =
    source instanceof WebAssembly.Module
      ? await WebAssembly.instantiate(source, {})
      : (await WebAssembly.instantiate(source, {})).instance
  return new WasmKernel(instance.exports as unknown as Exports)
}

/** Snapshot size for a window of k buckets: the header and the k ring entries in use. */
export function stateBytes(k: number): number {
  return (L.S_BUCKETS + k * L.B_FIELDS) * 8
}
const MAX_STATE_BYTES = stateBytes(L.BUCKETS_MAX)

class WasmKernel implements Kernel {
  private lastParams: Float64Array | undefined
  private readonly bytes: Uint8Array

  constructor(private readonly wasm: Exports) {
    this.bytes = new Uint8Array(wasm.memory.buffer)
  }

  run(
    state: Uint8Array | undefined,
    ts: Float64Array,
    values: Float64Array,
    params: Float64Array,
  ): SeriesResult {
    const n = ts.length
    if (values.length !== n) throw new RangeError('ts and values must have the same length')
    this.writeParams(params)
    const k = params[L.P_WINDOW_BUCKETS]!
    this.restore(state, k)
    const mem = this.wasm.memory.buffer
    const scores = new Float64Array(n)
    const flags = new Uint8Array(n)
    const windows: Float64Array[] = []
    for (let offset = 0; offset < n; offset += L.CAPACITY) {
      const len = Math.min(L.CAPACITY, n - offset)
      new Float64Array(mem, L.TS_PTR, len).set(ts.subarray(offset, offset + len))
      new Float64Array(mem, L.VALUE_PTR, len).set(values.subarray(offset, offset + len))
      let done = 0
      while (done < len) {
        done = this.wasm.process(done, len)
        const count = this.wasm.windowCount()
        if (count > 0) windows.push(new Float64Array(mem, L.WINDOW_PTR, count * L.W_FIELDS).slice())
      }
      scores.set(new Float64Array(mem, L.SCORE_PTR, len), offset)
      flags.set(new Uint8Array(mem, L.FLAGS_PTR, len), offset)
    }
    return {
      scores,
      flags,
      windows: concat(windows, (n) => new Float64Array(n)),
      state: this.bytes.slice(L.STATE_PTR, L.STATE_PTR + stateBytes(k)),
    }
  }

  runState(state: Uint8Array | undefined, rows: Float64Array, d: number, params: Float64Array): StateResult {
    return runState(this.wasm, state, rows, d, params)
  }

  private writeParams(params: Float64Array): void {
    if (params === this.lastParams) return
    if (params.length !== L.PARAM_COUNT) throw new RangeError(`params must have ${L.PARAM_COUNT} slots`)
    new Float64Array(this.wasm.memory.buffer, L.PARAMS_PTR, L.PARAM_COUNT).set(params)
    this.lastParams = params
  }

  /**
   * Loads a snapshot. One taken with another window size (the params changed) keeps its detectors
   * and starts its windows afresh.
   */
  private restore(state: Uint8Array | undefined, k: number): void {
    this.wasm.reset()
    if (!state) return
    if (checkSnapshot(state) === k) {
      this.bytes.set(state, L.STATE_PTR)
    } else {
      this.bytes.set(state.subarray(0, L.S_WIN_CURRENT * 8), L.STATE_PTR)
    }
  }
}

/**
 * Checks that bytes are a snapshot this kernel made (size and version); returns how many window
 * buckets it holds. Every host checks with this before handing a snapshot to the kernel.
 */
export function checkSnapshot(state: Uint8Array): number {
  const entries = (state.byteLength / 8 - L.S_BUCKETS) / L.B_FIELDS
  if (state.byteLength > MAX_STATE_BYTES || !Number.isInteger(entries) || entries < 1) {
    throw new KernelStateError(`a state snapshot of ${state.byteLength} bytes is not one this kernel makes`)
  }
  const version = snapshotVersion(state)
  if (version !== L.STATE_VERSION)
    throw new KernelStateError(`state snapshot version ${version} is not supported`)
  return entries
}

/**
 * Whether bytes are a snapshot from an earlier kernel version (its detectors' layout differs): such a
 * series starts afresh after an upgrade instead of failing every batch. Anything else that is not a
 * current snapshot stays an error (see checkSnapshot).
 */
export function isOlderSnapshot(state: Uint8Array): boolean {
  if (state.byteLength < 8) return false
  const version = snapshotVersion(state)
  return Number.isInteger(version) && version >= 1 && version < L.STATE_VERSION
}

/** The version a snapshot says it has (its first slot). */
function snapshotVersion(state: Uint8Array): number {
  return new DataView(state.buffer, state.byteOffset, 8).getFloat64(0, true)
}

/** Joins typed arrays of one kind into one (the part itself when there is one). */
export function concat<T extends Float64Array | Uint32Array>(parts: T[], make: (n: number) => T): T {
  if (parts.length === 1) return parts[0]!
  const out = make(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Unpacks a SeriesResult's windows into objects. */
export function windowFeatures(packed: Float64Array): WindowFeature[] {
  const out: WindowFeature[] = []
  for (let o = 0; o < packed.length; o += L.W_FIELDS) {
    out.push({
      start: packed[o + L.W_START]!,
      end: packed[o + L.W_END]!,
      count: packed[o + L.W_COUNT]!,
      mean: packed[o + L.W_MEAN]!,
      std: packed[o + L.W_STD]!,
      min: packed[o + L.W_MIN]!,
      max: packed[o + L.W_MAX]!,
      range: packed[o + L.W_RANGE]!,
    })
  }
  return out
}
