// What the agent and edgewatch's MQTT input (functions/node/mqtt.ts) say to each other through the
// broker: a batch goes out as one message on edgewatch/<deviceId>/telemetry, a JSON array of its
// records (the input takes one record or an array, not NDJSON); each anomaly the server finds comes
// back as one JSON object on edgewatch/<deviceId>/anomalies.
import { isAnomaly } from '../agent/sender.js'
import type { ServerAnomaly } from '../agent/stats.js'

export const telemetryTopic = (deviceId: string): string => `edgewatch/${deviceId}/telemetry`
export const anomaliesTopic = (deviceId: string): string => `edgewatch/${deviceId}/anomalies`

/**
 * A device id can be one topic level: not empty, no level separator or wildcard (which would
 * publish under another device's topic or fail), no NUL (forbidden in MQTT strings).
 */
export function isTopicLevel(deviceId: string): boolean {
  return deviceId.length > 0 && deviceId.length <= 256 && !/[/+#\0]/.test(deviceId)
}

/**
 * A sealed batch's NDJSON body as one JSON array. Each line is a record the sampler wrote with
 * JSON.stringify, so joining them with commas gives valid JSON without parsing them again.
 */
export function telemetryPayload(ndjson: string): string {
  const lines = ndjson.split('\n').filter((line) => line.trim() !== '')
  return `[${lines.join(',')}]`
}

/** Anomaly messages larger than this are not read: the server's are a few hundred bytes. */
export const MAX_ANOMALY_BYTES = 64 * 1024

/** A message on the anomalies topic as the server's verdict, or null when it is not one. */
export function anomalyOf(payload: Uint8Array): ServerAnomaly | null {
  if (payload.byteLength > MAX_ANOMALY_BYTES) return null
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload))
  } catch {
    return null
  }
  if (!isAnomaly(value)) return null
  const text = (x: unknown) => (typeof x === 'string' ? x : null)
  const number = (x: unknown) => (typeof x === 'number' ? x : null)
  return {
    ts: value.ts,
    kind: value.kind,
    metric: text(value.metric),
    value: number(value.value),
    score: number(value.score) ?? 0,
    detail: text(value.detail),
  }
}
