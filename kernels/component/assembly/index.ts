// The canonical-ABI face of the kernel: `edgewatch:kernel/detect#run` written by hand over the
// very kernel of kernels/assembly. It copies the lifted lists into the kernel's fixed regions and
// runs reset/process in chunks exactly as kernels/host/kernel.ts does. The argument and result
// lists live in a bump heap above DEV_MEMORY_END (never over the fixed regions), reset after each call
// by the post-return function. build.ts renames the exports to their canonical names.

import { process as processBatch, processState, reset, resetState, windowCount } from '../../assembly/index'
import {
  B_FIELDS,
  BUCKETS_MAX,
  CAPACITY,
  DEV_CAPACITY,
  DEV_MEMORY_END,
  DEV_PARAMS_PTR,
  DEV_ROWS_PTR,
  DEV_SCORE_PTR,
  DEV_STATE_PTR,
  DEV_VERDICT_PTR,
  DEVICE_STATE_COUNT,
  DEVICE_STATE_VERSION,
  FLAGS_PTR,
  P_WINDOW_BUCKETS,
  PARAM_COUNT,
  PARAMS_PTR,
  S_BUCKETS,
  S_WIN_CURRENT,
  SCORE_PTR,
  STATE_METRICS_MAX,
  STATE_PARAM_COUNT,
  STATE_PTR,
  STATE_VERSION,
  TS_PTR,
  VALUE_PTR,
  W_FIELDS,
  WINDOW_PTR,
} from '../../layout'

const HEAP_BASE: usize = (<usize>DEV_MEMORY_END + 15) & ~(<usize>15)
let top: usize = HEAP_BASE

/** The return area: four (pointer, length) pairs. */
const RET: usize = memory.data(32, 8)

function ensure(end: usize): void {
  const have = (<usize>memory.size()) << 16
  if (end <= have) return
  const pages = <i32>((end - have + 0xffff) >> 16)
  if (memory.grow(pages) < 0) unreachable()
}

function alloc(size: usize, align: usize): usize {
  const at = (top + align - 1) & ~(align - 1)
  ensure(at + size)
  top = at + size
  return at
}

export function cabi_realloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (oldPtr !== 0 && oldPtr + oldSize === top) {
    ensure(oldPtr + newSize)
    top = oldPtr + newSize
    return oldPtr
  }
  const at = alloc(newSize, align < 1 ? 1 : align)
  if (oldPtr !== 0) memory.copy(at, oldPtr, min<usize>(oldSize, newSize))
  return at
}

function stateBytes(k: i32): i32 {
  return (S_BUCKETS + k * B_FIELDS) << 3
}

/** Loads a snapshot like the TypeScript host: another window size keeps the detectors only. */
function restore(statePtr: usize, stateLen: i32, k: i32): void {
  reset()
  if (stateLen === 0) return
  const entries = ((stateLen >> 3) - S_BUCKETS) / B_FIELDS
  const valid =
    (stateLen & 7) === 0 &&
    ((stateLen >> 3) - S_BUCKETS) % B_FIELDS === 0 &&
    entries >= 1 &&
    entries <= BUCKETS_MAX &&
    load<f64>(statePtr) === STATE_VERSION
  if (!valid) unreachable()
  if (entries === k) memory.copy(STATE_PTR, statePtr, <usize>stateLen)
  else memory.copy(STATE_PTR, statePtr, <usize>(S_WIN_CURRENT << 3))
}

export function run(
  statePtr: usize,
  stateLen: i32,
  tsPtr: usize,
  tsLen: i32,
  valPtr: usize,
  valLen: i32,
  parPtr: usize,
  parLen: i32,
): usize {
  if (tsLen !== valLen || parLen !== PARAM_COUNT) unreachable()
  memory.copy(PARAMS_PTR, parPtr, <usize>(PARAM_COUNT << 3))
  const k = <i32>load<f64>(PARAMS_PTR + (P_WINDOW_BUCKETS << 3))
  if (k < 1 || k > BUCKETS_MAX) unreachable()
  restore(statePtr, stateLen, k)
  const n = tsLen
  const scores = alloc((<usize>n) << 3, 8)
  const flags = alloc(<usize>n, 1)
  const windows = alloc(0, 8)
  let windowValues: i32 = 0
  for (let offset: i32 = 0; offset < n; offset += CAPACITY) {
    const len = min<i32>(CAPACITY, n - offset)
    memory.copy(TS_PTR, tsPtr + ((<usize>offset) << 3), (<usize>len) << 3)
    memory.copy(VALUE_PTR, valPtr + ((<usize>offset) << 3), (<usize>len) << 3)
    let done: i32 = 0
    while (done < len) {
      done = processBatch(done, len)
      const count = windowCount()
      if (count > 0) {
        const values = count * W_FIELDS
        const at = windows + ((<usize>windowValues) << 3)
        ensure(at + ((<usize>values) << 3))
        top = at + ((<usize>values) << 3)
        memory.copy(at, WINDOW_PTR, (<usize>values) << 3)
        windowValues += values
      }
    }
    memory.copy(scores + ((<usize>offset) << 3), SCORE_PTR, (<usize>len) << 3)
    memory.copy(flags + <usize>offset, FLAGS_PTR, <usize>len)
  }
  const size = stateBytes(k)
  const state = alloc(<usize>size, 8)
  memory.copy(state, STATE_PTR, <usize>size)
  store<u32>(RET, <u32>state, 0)
  store<u32>(RET, <u32>size, 4)
  store<u32>(RET, <u32>scores, 8)
  store<u32>(RET, <u32>n, 12)
  store<u32>(RET, <u32>flags, 16)
  store<u32>(RET, <u32>n, 20)
  store<u32>(RET, <u32>windows, 24)
  store<u32>(RET, <u32>windowValues, 28)
  return RET
}

/**
 * `run-state`: the state detector over a device's rows, in chunks of DEV_CAPACITY rows, as
 * kernels/host/state.ts runs it. A snapshot of another size or version traps (the host checks first).
 */
export function run_state(
  statePtr: usize,
  stateLen: i32,
  rowsPtr: usize,
  rowsLen: i32,
  width: i32,
  parPtr: usize,
  parLen: i32,
): usize {
  if (width < 1 || width > STATE_METRICS_MAX || rowsLen % width !== 0 || parLen !== STATE_PARAM_COUNT)
    unreachable()
  memory.copy(DEV_PARAMS_PTR, parPtr, <usize>(STATE_PARAM_COUNT << 3))
  resetState()
  if (stateLen !== 0) {
    if (stateLen !== DEVICE_STATE_COUNT << 3 || load<f64>(statePtr) !== DEVICE_STATE_VERSION) unreachable()
    memory.copy(DEV_STATE_PTR, statePtr, <usize>stateLen)
  }
  const n = rowsLen / width
  const scores = alloc((<usize>n) << 3, 8)
  const verdicts = alloc((<usize>n) << 2, 4)
  for (let offset: i32 = 0; offset < n; offset += DEV_CAPACITY) {
    const len = min<i32>(DEV_CAPACITY, n - offset)
    memory.copy(DEV_ROWS_PTR, rowsPtr + ((<usize>(offset * width)) << 3), (<usize>(len * width)) << 3)
    processState(len, width)
    memory.copy(scores + ((<usize>offset) << 3), DEV_SCORE_PTR, (<usize>len) << 3)
    memory.copy(verdicts + ((<usize>offset) << 2), DEV_VERDICT_PTR, (<usize>len) << 2)
  }
  const size = DEVICE_STATE_COUNT << 3
  const state = alloc(<usize>size, 8)
  memory.copy(state, DEV_STATE_PTR, <usize>size)
  store<u32>(RET, <u32>state, 0)
  store<u32>(RET, <u32>size, 4)
  store<u32>(RET, <u32>scores, 8)
  store<u32>(RET, <u32>n, 12)
  store<u32>(RET, <u32>verdicts, 16)
  store<u32>(RET, <u32>n, 20)
  return RET
}

export function run_state_post(_ret: usize): void {
  top = HEAP_BASE
}

/** Post-return: the host has copied the results out; the whole heap is free again. */
export function run_post(_ret: usize): void {
  top = HEAP_BASE
}
