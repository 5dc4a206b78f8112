import { describe, expect, it } from 'vitest'
import { ConfigError, parseMqtt } from '../config.js'
import { bodyFor, subscribedPattern } from './mqtt.js'

const text = (b: ReturnType<typeof bodyFor>) =>
  'bytes' in b ? JSON.parse(new TextDecoder().decode(b.bytes)) : b.refused

describe('bodyFor', () => {
  it("gives records without a deviceId the topic's device, one record or an array", () => {
    expect(text(bodyFor(Buffer.from('{"temp":1}'), 'pump-1'))).toEqual({ temp: 1, deviceId: 'pump-1' })
    expect(text(bodyFor(Buffer.from('[{"temp":1},{"deviceId":"pump-1","temp":2},3]'), 'pump-1'))).toEqual([
      { temp: 1, deviceId: 'pump-1' },
      { deviceId: 'pump-1', temp: 2 },
      3,
    ])
  })
  it("refuses another device's records on a device's topic", () => {
    expect(bodyFor(Buffer.from('[{"temp":1},{"deviceId":"pump-2"}]'), 'pump-1')).toEqual({
      refused: 'a record of pump-2 on the topic of pump-1',
    })
  })
  it('passes what is not JSON (or not UTF-8) as it came, for the ingest path to refuse and keep', () => {
    const bad = Buffer.from([0x7b, 0xff, 0x7d])
    expect(bodyFor(bad, 'pump-1')).toEqual({ bytes: new Uint8Array(bad) })
    expect(bodyFor(Buffer.from('nope'), 'pump-1')).toEqual({ bytes: new Uint8Array(Buffer.from('nope')) })
  })
})

describe('subscribedPattern', () => {
  it("drops a shared subscription's $share/<group>/", () => {
    expect(subscribedPattern('$share/edgewatch/edgewatch/+/telemetry')).toEqual([
      'edgewatch',
      '+',
      'telemetry',
    ])
    expect(subscribedPattern('edgewatch/+/telemetry')).toEqual(['edgewatch', '+', 'telemetry'])
  })
})

describe('parseMqtt', () => {
  it('is off without a URL, and has defaults for the topic and client id', () => {
    expect(parseMqtt({})).toBeNull()
    expect(parseMqtt({ EDGEWATCH_MQTT_URL: 'mqtt://u:p@broker:1883' })).toEqual({
      url: 'mqtt://u:p@broker:1883',
      topic: 'edgewatch/+/telemetry',
      clientId: 'edgewatch',
    })
  })
  it('refuses what is not a broker URL or a topic filter', () => {
    expect(() => parseMqtt({ EDGEWATCH_MQTT_URL: 'http://broker' })).toThrow(ConfigError)
    expect(() => parseMqtt({ EDGEWATCH_MQTT_URL: 'mqtt://b', EDGEWATCH_MQTT_TOPIC: 'a/#/b' })).toThrow(
      ConfigError,
    )
    expect(() => parseMqtt({ EDGEWATCH_MQTT_URL: 'mqtt://b', EDGEWATCH_MQTT_TOPIC: 'a/x+/b' })).toThrow(
      ConfigError,
    )
  })
})
