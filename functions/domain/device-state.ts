// A device's `state` detector snapshot as the store keeps it: a SeriesState under a reserved metric
// name, so the three store adapters keep it like any series' state. Its bytes: the length of the
// names (u32, little-endian), the names of the metrics it models as UTF-8 JSON (column i is
// names[i]), then the kernel's snapshot of that many metrics (kernels/host/state-snapshot.ts).
import { KernelStateError } from '../../kernels/host/kernel.js'
import { checkDeviceSnapshot } from '../../kernels/host/state.js'
import { DS_BASELINE, DS_ROWS, STATE_METRICS_MAX } from '../../kernels/layout.js'

/** The reserved metric name: no record's metric has an empty name (record.ts: 1-64 characters). */
export const DEVICE_STATE_METRIC = ''

export interface DeviceModel {
  /** The kernel's device state; undefined for a device that has seen nothing. */
  kernel: Uint8Array | undefined
  /** The metrics it models, by column. */
  metrics: string[]
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeDeviceState(kernel: Uint8Array, metrics: string[]): Uint8Array {
  const names = encoder.encode(JSON.stringify(metrics))
  const out = new Uint8Array(4 + names.byteLength + kernel.byteLength)
  new DataView(out.buffer).setUint32(0, names.byteLength, true)
  out.set(names, 4)
  out.set(kernel, 4 + names.byteLength)
  return out
}

/** Reads a stored device state; throws KernelStateError on bytes this version did not write. */
export function decodeDeviceState(bytes: Uint8Array): DeviceModel {
  const length = bytes.byteLength >= 4 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) : -1
  if (length < 0 || 4 + length > bytes.byteLength)
    throw new KernelStateError(`a device state of ${bytes.byteLength} bytes is too short`)
  let metrics: unknown
  try {
    metrics = JSON.parse(decoder.decode(bytes.subarray(4, 4 + length)))
  } catch {
    throw new KernelStateError('the metric names of a device state are not JSON')
  }
  if (
    !Array.isArray(metrics) ||
    metrics.length < 1 ||
    metrics.length > STATE_METRICS_MAX ||
    !metrics.every((m) => typeof m === 'string')
  )
    throw new KernelStateError('the metric names of a device state are not a list of names')
  const kernel = bytes.subarray(4 + length)
  if (checkDeviceSnapshot(kernel) !== metrics.length)
    throw new KernelStateError('a device state holds another number of metrics than it names')
  return { kernel, metrics }
}

/** Whether the device is still in its baseline (new metrics may still join the model). */
export function learning(model: DeviceModel): boolean {
  if (!model.kernel) return true
  const view = new DataView(model.kernel.buffer, model.kernel.byteOffset, model.kernel.byteLength)
  return view.getFloat64(DS_ROWS * 8, true) < view.getFloat64(DS_BASELINE * 8, true)
}
