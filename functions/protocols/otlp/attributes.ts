// OTLP attribute values (AnyValue) as plain JSON values, and the device id an attribute names.
// Values nest (arrays, key-value lists): past MAX_DEPTH a value is kept as a short text instead,
// so a hostile body cannot make a record of unbounded depth. int64 values outside the range a
// double holds exactly are kept as their decimal text, bytes as base64 (as OTLP/JSON writes them).
import { base64Encode } from '@bufbuild/protobuf/wire'
import type { AnyValue, KeyValue } from './gen/common_pb.js'

export type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain }

/** The attributes that name a record's device, in order, when none are configured. */
export const DEFAULT_DEVICE_ATTRIBUTES: readonly string[] = ['device.id', 'service.instance.id']

/** Nesting kept: deeper arrays and lists are replaced by a note. */
const MAX_DEPTH = 8

/** A value as plain JSON. */
export function plainOf(value: AnyValue | undefined, depth = 0): Plain {
  const v = value?.value
  switch (v?.case) {
    case undefined:
      return null
    case 'stringValue':
    case 'boolValue':
      return v.value
    case 'doubleValue':
      // JSON has no NaN or Infinity: kept as their names.
      return Number.isFinite(v.value) ? v.value : String(v.value)
    case 'intValue': {
      const n = Number(v.value)
      return Number.isSafeInteger(n) ? n : v.value.toString()
    }
    case 'bytesValue':
      return base64Encode(v.value)
    case 'arrayValue':
      if (depth >= MAX_DEPTH) return '[nested too deeply]'
      return v.value.values.map((item) => plainOf(item, depth + 1))
    case 'kvlistValue':
      if (depth >= MAX_DEPTH) return '{nested too deeply}'
      return objectOf(v.value.values, depth + 1)
  }
}

/** Key-value pairs as an object (the last of a repeated key wins; `__proto__` is kept as data). */
export function objectOf(pairs: KeyValue[], depth = 0): { [key: string]: Plain } {
  const out: { [key: string]: Plain } = {}
  for (const { key, value } of pairs) {
    const plain = plainOf(value, depth)
    if (key === '__proto__')
      Object.defineProperty(out, key, { value: plain, enumerable: true, writable: true, configurable: true })
    else out[key] = plain
  }
  return out
}

/**
 * The device id: for each attribute name in order, the record's own attribute, then the
 * resource's. A number or boolean counts as its text; any other value names no device.
 */
export function deviceOf(
  names: readonly string[],
  own: KeyValue[],
  resource: KeyValue[],
): string | undefined {
  return deviceAmong(names, own, resourceDevices(names, resource))
}

/**
 * deviceOf with the resource's ids found once (resourceDevices) for all its entries: the work per
 * entry is then its own attributes', however many attributes the resource has.
 */
export function deviceAmong(
  names: readonly string[],
  own: KeyValue[],
  resourceIds: readonly (string | undefined)[],
): string | undefined {
  for (let i = 0; i < names.length; i++) {
    const id = (own.length > 0 ? textOf(own, names[i]!) : undefined) ?? resourceIds[i]
    if (id !== undefined) return id
  }
  return undefined
}

/** The id each attribute name gives on a resource (undefined where it gives none), in the names' order. */
export function resourceDevices(names: readonly string[], resource: KeyValue[]): (string | undefined)[] {
  return names.map((name) => textOf(resource, name))
}

function textOf(pairs: KeyValue[], name: string): string | undefined {
  for (let i = pairs.length - 1; i >= 0; i--) {
    const pair = pairs[i]!
    if (pair.key !== name) continue
    const v = pair.value?.value
    if (v?.case === 'stringValue') return v.value
    if (v?.case === 'intValue' || v?.case === 'doubleValue' || v?.case === 'boolValue') return String(v.value)
    return undefined
  }
  return undefined
}

/** Where a log record or data point comes from: what it shares with the others of its resource and scope. */
export interface Origin {
  resource: KeyValue[]
  /** The resource's attributes as records keep them, made once (undefined when there are none). */
  resourcePlain: Record<string, Plain> | undefined
  scope: string | undefined
}

export function originOf(resource: KeyValue[], scope: string | undefined): Origin {
  return {
    resource,
    resourcePlain: resource.length > 0 ? objectOf(resource) : undefined,
    scope: scope || undefined,
  }
}

/** A resource's origin for one of its scopes: its attributes read once serve all its scopes. */
export function inScope(origin: Origin, scope: string | undefined): Origin {
  return { ...origin, scope: scope || undefined }
}

/** Keeps the entry's own attributes, its resource's and its scope's name on the record. */
export function keepAttributes(record: Record<string, unknown>, own: KeyValue[], origin: Origin): void {
  if (own.length > 0) record.attributes = objectOf(own)
  if (origin.resourcePlain) record.resource = origin.resourcePlain
  if (origin.scope) record.scope = origin.scope
}
