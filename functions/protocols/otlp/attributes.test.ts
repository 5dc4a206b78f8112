import { create } from '@bufbuild/protobuf'
import { describe, expect, it } from 'vitest'
import { attrs } from '../../../test/otlp/requests.js'
import { deviceOf, objectOf, plainOf } from './attributes.js'
import { AnyValueSchema, type KeyValue, KeyValueSchema } from './gen/common_pb.js'

const pairs = (p: Parameters<typeof attrs>[0]) =>
  attrs(p).map((kv) => create(KeyValueSchema, kv)) as KeyValue[]

describe('OTLP attributes', () => {
  it('are plain JSON: int64 past 2^53 as text, bytes as base64, NaN by name, __proto__ as data', () => {
    const nested = create(AnyValueSchema, {
      value: {
        case: 'kvlistValue',
        value: {
          values: [{ key: 'b', value: { value: { case: 'bytesValue', value: new Uint8Array([1, 2]) } } }],
        },
      },
    })
    const out = objectOf([
      ...pairs({ big: 9007199254740993n, small: 7n, nan: Number.NaN, ok: true }),
      create(KeyValueSchema, { key: '__proto__', value: nested }),
    ])
    expect(JSON.stringify(out)).toBe(
      '{"big":"9007199254740993","small":7,"nan":"NaN","ok":true,"__proto__":{"b":"AQI="}}',
    )
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
  })

  it('cut nesting past eight levels', () => {
    let value = create(AnyValueSchema, { value: { case: 'stringValue', value: 'deep' } })
    for (let i = 0; i < 20; i++)
      value = create(AnyValueSchema, { value: { case: 'arrayValue', value: { values: [value] } } })
    expect(JSON.stringify(plainOf(value))).toBe(`${'['.repeat(8)}"[nested too deeply]"${']'.repeat(8)}`)
  })

  it('name the device by the first attribute present, the entry own before its resource', () => {
    const names = ['device.id', 'service.instance.id']
    const own = pairs({ 'service.instance.id': 'own-instance' })
    const resource = pairs({ 'device.id': 'resource-device', 'service.instance.id': 'resource-instance' })
    expect(deviceOf(names, own, resource)).toBe('resource-device')
    expect(deviceOf(names, pairs({ 'device.id': 7n }), resource)).toBe('7')
    expect(deviceOf(['service.instance.id'], own, resource)).toBe('own-instance')
    expect(deviceOf(names, [], [])).toBeUndefined()
  })
})
