// The edgewatch app SDK: the ABI v1 host functions (edgewatch.ts) behind a handful of helpers, so that an app
// is a tick function of a few lines (see ../README.md).
//
// Nothing here allocates, so an app built on it has a bounded memory: text is encoded into one static
// scratch buffer, and a sensor name is decoded once into a fixed slot of static memory and kept there as
// a string. (An app may still allocate: the stub runtime never frees, and its heap pointer is set by the
// start function that build.ts exports as _initialize, which the host calls before init.)
import * as host from './edgewatch'

/** Log levels of log(). */
export enum Level {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
}

/** Channels whose names sensorName keeps; it gives "" for a channel at or beyond this. */
export const MAX_CHANNELS = 64
/** Longest sensor name kept, in UTF-8 bytes. */
export const NAME_BYTES = 64
/** Longest metric name sent, in UTF-8 bytes: a longer one is cut at a character boundary. */
export const METRIC_NAME_BYTES = 256
/** Longest log message sent, in UTF-8 bytes: a longer one is cut at a character boundary. */
export const LOG_BYTES = 1024

/** The one scratch buffer: host calls never call back, so no two uses overlap. */
const SCRATCH: usize = memory.data(LOG_BYTES, 16)

/**
 * AssemblyScript's object header before a string's first character: memory manager info, two GC words,
 * the class id at -8 and the byte length at -4 (the runtime's documented memory layout). The stub
 * runtime never moves or frees anything, so a string written into static memory with this header is a
 * string like any other.
 */
const HEADER = 20
/** One name slot: header and NAME_BYTES UTF-16 units (a UTF-8 name has at most as many units as bytes). */
const NAME_SLOT = (HEADER + NAME_BYTES * 2 + 15) & ~15
const NAMES: usize = memory.data(MAX_CHANNELS * NAME_SLOT, 16)
/** One byte per channel: 1 once its name is in its slot. */
const NAMED: usize = memory.data(MAX_CHANNELS)

/** Epoch milliseconds, from the device's clock. */
export function nowMs(): f64 {
  return host.now_ms()
}

/** How many sensor channels the device has. */
export function sensorCount(): i32 {
  return host.sensor_count()
}

/** The current reading of a channel (NaN when there is no such channel). */
export function sensorRead(channel: i32): f64 {
  return host.sensor_read(channel)
}

/**
 * The channel's name, asked of the host once per channel and kept (at most NAME_BYTES UTF-8 bytes).
 * "" for a channel at or beyond MAX_CHANNELS.
 */
export function sensorName(channel: i32): string {
  if (<u32>channel >= <u32>MAX_CHANNELS) return ''
  const str = NAMES + <usize>channel * NAME_SLOT + HEADER
  if (load<u8>(NAMED + <usize>channel) === 0) {
    const written = host.sensor_name(channel, <i32>SCRATCH, NAME_BYTES)
    const bytes = min<i32>(max<i32>(written, 0), NAME_BYTES)
    const units = decodeUtf8(SCRATCH, bytes, str)
    store<u32>(str - 8, idof<string>())
    store<u32>(str - 4, (<u32>units) << 1)
    store<u8>(NAMED + <usize>channel, 1)
  }
  return changetype<string>(str)
}

/** Sends a metric with the device's telemetry; the server analyses it like any reading. */
export function emit(name: string, value: f64): void {
  const len = encodeUtf8(name, SCRATCH, 0, METRIC_NAME_BYTES)
  host.emit(<i32>SCRATCH, len, value)
}

/** Sends the metric "<series>.<field>" (e.g. "flow" and "window.mean"), without building the name. */
export function emitField(series: string, field: string, value: f64): void {
  let len = encodeUtf8(series, SCRATCH, 0, METRIC_NAME_BYTES)
  if (len < METRIC_NAME_BYTES) {
    store<u8>(SCRATCH + <usize>len, 0x2e)
    len = encodeUtf8(field, SCRATCH, len + 1, METRIC_NAME_BYTES)
  }
  host.emit(<i32>SCRATCH, len, value)
}

/** Logs a message at a Level. */
export function log(level: i32, message: string): void {
  const len = encodeUtf8(message, SCRATCH, 0, LOG_BYTES)
  host.log(level, <i32>SCRATCH, len)
}

/**
 * Writes s as UTF-8 at buf + at, up to buf + cap, stopping before a character that does not fit whole.
 * A lone surrogate becomes U+FFFD. Returns the new end.
 */
export function encodeUtf8(s: string, buf: usize, at: i32, cap: i32): i32 {
  const chars = changetype<usize>(s)
  const n = s.length
  let i = 0
  while (i < n) {
    let c = <u32>load<u16>(chars + ((<usize>i) << 1))
    let units = 1
    if (c >= 0xd800 && c < 0xe000) {
      const next = i + 1 < n ? <u32>load<u16>(chars + ((<usize>(i + 1)) << 1)) : 0
      if (c < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00)
        units = 2
      } else {
        c = 0xfffd
      }
    }
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
    if (at + size > cap) break
    const p = buf + <usize>at
    if (size === 1) {
      store<u8>(p, c)
    } else if (size === 2) {
      store<u8>(p, 0xc0 | (c >> 6))
      store<u8>(p, 0x80 | (c & 0x3f), 1)
    } else if (size === 3) {
      store<u8>(p, 0xe0 | (c >> 12))
      store<u8>(p, 0x80 | ((c >> 6) & 0x3f), 1)
      store<u8>(p, 0x80 | (c & 0x3f), 2)
    } else {
      store<u8>(p, 0xf0 | (c >> 18))
      store<u8>(p, 0x80 | ((c >> 12) & 0x3f), 1)
      store<u8>(p, 0x80 | ((c >> 6) & 0x3f), 2)
      store<u8>(p, 0x80 | (c & 0x3f), 3)
    }
    at += size
    i += units
  }
  return at
}

/** Whether byte b is a UTF-8 continuation byte. */
function continues(b: u32): bool {
  return (b & 0xc0) === 0x80
}

/**
 * Decodes len bytes of UTF-8 at src into UTF-16 units at dst (at most len units); each malformed
 * sequence, or a sequence cut short at the end, becomes U+FFFD. Returns the units written.
 */
export function decodeUtf8(src: usize, len: i32, dst: usize): i32 {
  let i = 0
  let u = 0
  while (i < len) {
    const b0 = <u32>load<u8>(src + <usize>i)
    const b1 = i + 1 < len ? <u32>load<u8>(src + <usize>i + 1) : 0
    const b2 = i + 2 < len ? <u32>load<u8>(src + <usize>i + 2) : 0
    const b3 = i + 3 < len ? <u32>load<u8>(src + <usize>i + 3) : 0
    let c: u32 = 0xfffd
    let used = 1
    if (b0 < 0x80) {
      c = b0
    } else if (b0 >= 0xc2 && b0 < 0xe0) {
      if (continues(b1)) {
        c = ((b0 & 0x1f) << 6) | (b1 & 0x3f)
        used = 2
      }
    } else if (b0 >= 0xe0 && b0 < 0xf0) {
      const v = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f)
      if (continues(b1) && continues(b2) && v >= 0x800 && (v < 0xd800 || v >= 0xe000)) {
        c = v
        used = 3
      }
    } else if (b0 >= 0xf0 && b0 < 0xf5) {
      const v = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f)
      if (continues(b1) && continues(b2) && continues(b3) && v >= 0x10000 && v <= 0x10ffff) {
        c = v
        used = 4
      }
    }
    if (c >= 0x10000) {
      c -= 0x10000
      store<u16>(dst + ((<usize>u) << 1), 0xd800 | (c >> 10))
      store<u16>(dst + ((<usize>u) << 1), 0xdc00 | (c & 0x3ff), 2)
      u += 2
    } else {
      store<u16>(dst + ((<usize>u) << 1), c)
      u += 1
    }
    i += used
  }
  return u
}
