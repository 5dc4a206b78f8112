// edge-detect: the server's detector stack, run on the device. Every tick it reads every channel and passes
// the sample (now_ms(), value) through the very kernel of kernels/assembly with the default parameters
// (written at build time from kernels/host/params.ts, so they cannot drift from the server's), and sends
// only what the kernel finds: for an anomalous sample "<channel>.anomaly" (its score) and
// "<channel>.flags" (its verdict bits); for each window the sample closes that does not overlap the last
// one sent (every sixth, with the default 60 s windows sliding by 10 s) "<channel>.window.mean", .std,
// .min, .max and .count. Its verdicts equal, bit for bit, the server's on the same (ts, value) series.
//
// The kernel keeps one series in the fixed state block at STATE_PTR. Each channel has its own copy of that
// block in static memory; a sample swaps the channel's block in, runs process(0, 1) and swaps it out,
// which is exactly how the server resumes a series from its snapshot.
//
// Memory: the kernel's fixed regions end with its window output at WINDOW_PTR (27 pages in), so the app
// needs PAGES = 28 pages (1.75 MiB) and grows its memory to that at init; a release of it needs
// memoryPages >= 28. The app's own static data (the channel blocks, the SDK's buffers) stays below
// PARAMS_PTR (64 KiB), where the kernel never writes.
import { process as processSamples, reset, windowCount } from '../../../../../kernels/assembly/index'
import {
  B_FIELDS,
  BUCKETS_MAX,
  FLAGS_PTR,
  PARAMS_PTR,
  S_BUCKETS,
  SCORE_PTR,
  STATE_PTR,
  TS_PTR,
  VALUE_PTR,
  W_COUNT,
  W_END,
  W_FIELDS,
  W_MAX,
  W_MEAN,
  W_MIN,
  W_START,
  W_STD,
  WINDOW_PTR,
} from '../../../../../kernels/layout'
import { WINDOW_BUCKETS, writeDefaultParams } from '../../../build/assembly/detector-params'
import { emitField, Level, log, nowMs, sensorCount, sensorName, sensorRead } from '../../../sdk/assembly'

/** Channels watched: the first MAX_CHANNELS (a device with more is told so once, in the log). */
const MAX_CHANNELS = 32
/** A channel's snapshot: the state header and the window ring in use (kernels/host/kernel.ts stateBytes). */
const STATE_BYTES = (S_BUCKETS + WINDOW_BUCKETS * B_FIELDS) * 8
/** Pages the kernel's regions need: up to the window output of one sample (at most BUCKETS_MAX windows). */
const PAGES = (WINDOW_PTR + BUCKETS_MAX * W_FIELDS * 8 + 0xffff) >>> 16

const STATES: usize = memory.data(MAX_CHANNELS * STATE_BYTES, 8)
/** One byte per channel: 1 once its block holds a started series. */
const STARTED: usize = memory.data(MAX_CHANNELS)

let ready = false
let warned = false

export function init(): i32 {
  return prepare()
}

export function tick(): i32 {
  const status = prepare()
  if (status !== 0) return status
  const ts = nowMs()
  const count = sensorCount()
  if (count > MAX_CHANNELS && !warned) {
    log(Level.Warn, 'edge-detect: more than 32 channels, the first 32 are watched')
    warned = true
  }
  const channels = min<i32>(count, MAX_CHANNELS)
  for (let ch = 0; ch < channels; ch++) {
    const x = sensorRead(ch)
    // The agent sends only finite readings (JSON has no NaN), so the server's series has none either.
    if (Number.isFinite(x)) detect(ch, ts, x)
  }
  return 0
}

/** Grows the memory to PAGES and writes the parameters, once. Non-zero: the app cannot run. */
function prepare(): i32 {
  if (ready) return 0
  if (__heap_base > <usize>PARAMS_PTR) {
    log(Level.Error, 'edge-detect: static data overlaps the kernel parameters (64 KiB)')
    return 2
  }
  const have = memory.size()
  if (have < PAGES && memory.grow(PAGES - have) < 0) {
    log(Level.Error, 'edge-detect: needs 28 pages of memory, the release allows fewer (memoryPages >= 28)')
    return 1
  }
  writeDefaultParams()
  ready = true
  return 0
}

/** Runs one sample of channel ch through the kernel and sends what it finds. */
function detect(ch: i32, ts: f64, x: f64): void {
  const state = STATES + <usize>ch * STATE_BYTES
  const started = STARTED + <usize>ch
  if (load<u8>(started) !== 0) {
    memory.copy(STATE_PTR, state, STATE_BYTES)
  } else {
    reset()
    store<u8>(started, 1)
  }
  store<f64>(TS_PTR, ts)
  store<f64>(VALUE_PTR, x)
  processSamples(0, 1)
  memory.copy(state, STATE_PTR, STATE_BYTES)

  const name = sensorName(ch)
  const windows = windowCount()
  for (let w = 0; w < windows; w++) {
    const at = WINDOW_PTR + w * W_FIELDS * 8
    // Windows overlap (60 s every 10 s): only those that tile time are sent, each sample in one.
    const end = load<f64>(at + W_END * 8)
    if (end % (end - load<f64>(at + W_START * 8)) !== 0) continue
    emitField(name, 'window.mean', load<f64>(at + W_MEAN * 8))
    emitField(name, 'window.std', load<f64>(at + W_STD * 8))
    emitField(name, 'window.min', load<f64>(at + W_MIN * 8))
    emitField(name, 'window.max', load<f64>(at + W_MAX * 8))
    emitField(name, 'window.count', load<f64>(at + W_COUNT * 8))
  }
  const flags = load<u8>(FLAGS_PTR)
  if (flags !== 0) {
    emitField(name, 'anomaly', load<f64>(SCORE_PTR))
    emitField(name, 'flags', <f64>flags)
  }
}
