// The SDK's probe app, for sdk.test.ts: every helper, with names that are long, non-ASCII or malformed.
import {
  emit,
  emitField,
  Level,
  log,
  MAX_CHANNELS,
  nowMs,
  sensorCount,
  sensorName,
  sensorRead,
} from '../../assembly'

/** 254 ASCII bytes and a 3-byte character: 257 bytes, cut to 254 (METRIC_NAME_BYTES is 256). */
const LONG_NAME =
  'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx€'

export function init(): i32 {
  log(Level.Debug, 'probe: debug')
  log(Level.Info, 'probe: grüße 😀')
  log(Level.Warn, 'probe: lone \uD800 surrogate')
  log(Level.Error, 'probe: error')
  emit(LONG_NAME, 1)
  return 0
}

export function tick(): i32 {
  const channels = sensorCount()
  // One channel past the end (no name, NaN), and one past the SDK's cache.
  for (let ch = 0; ch <= channels; ch++) {
    emit(sensorName(ch), sensorRead(ch))
    emitField(sensorName(ch), 'at', nowMs())
  }
  emit(sensorName(MAX_CHANNELS), sensorRead(MAX_CHANNELS))
  return 0
}
