// report-on-change: data reduction on the device. Every tick it reads every channel and sends a reading
// (as a metric under the channel's own name) only when it moved away from the last value it sent, or when
// the channel has been quiet for too long, so the server still sees it alive. A slowly varying series
// costs a fraction of its readings; a real change is never held back.
import { emit, MAX_CHANNELS, nowMs, sensorCount, sensorName, sensorRead } from '../../../sdk/assembly'

/** A reading is sent when it is more than max(CHANGE_ABSOLUTE, CHANGE_RELATIVE × |last sent|) from the last sent. */
const CHANGE_RELATIVE: f64 = 0.02
const CHANGE_ABSOLUTE: f64 = 0.1
/** ... or when the channel has sent nothing for this long, ms. */
const MAX_SILENCE_MS: f64 = 60_000

/** Per channel: the last value sent, when it was sent, and whether anything was sent yet. */
const LAST_VALUE: usize = memory.data(MAX_CHANNELS * 8, 8)
const LAST_SENT_AT: usize = memory.data(MAX_CHANNELS * 8, 8)
const SENT: usize = memory.data(MAX_CHANNELS)

export function tick(): i32 {
  const now = nowMs()
  const channels = min<i32>(sensorCount(), MAX_CHANNELS)
  for (let ch = 0; ch < channels; ch++) {
    const x = sensorRead(ch)
    if (!Number.isFinite(x)) continue
    const slot = (<usize>ch) << 3
    if (load<u8>(SENT + <usize>ch) !== 0) {
      const last = load<f64>(LAST_VALUE + slot)
      const moved = abs<f64>(x - last) > max<f64>(CHANGE_ABSOLUTE, CHANGE_RELATIVE * abs<f64>(last))
      if (!moved && now - load<f64>(LAST_SENT_AT + slot) < MAX_SILENCE_MS) continue
    }
    emit(sensorName(ch), x)
    store<f64>(LAST_VALUE + slot, x)
    store<f64>(LAST_SENT_AT + slot, now)
    store<u8>(SENT + <usize>ch, 1)
  }
  return 0
}
