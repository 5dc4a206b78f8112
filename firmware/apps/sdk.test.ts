// The AssemblyScript SDK (firmware/apps/sdk) through its probe app, and every built app's imports and exports.
import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { APPS, appPath, checkAbi, ensureApps } from './build.js'
import { TestHost } from './sdk/test-host.js'
import { parseModule } from './wasm/parse.js'

beforeAll(ensureApps)

const probe = () => readFileSync(appPath('sdk-probe'))

describe('the SDK', () => {
  it('logs at every level and encodes UTF-8, a lone surrogate as U+FFFD', async () => {
    const host = await TestHost.start(probe(), { memoryPages: 1, channels: [] })
    expect(host.init()).toBe(0)
    expect(host.logs.map(({ level, message }) => [level, message])).toEqual([
      [0, 'probe: debug'],
      [1, 'probe: grüße 😀'],
      [2, 'probe: lone \uFFFD surrogate'],
      [3, 'probe: error'],
    ])
  })

  it('cuts a metric name at 256 bytes, before a character that does not fit whole', async () => {
    const host = await TestHost.start(probe(), { memoryPages: 1, channels: [] })
    host.init()
    expect(host.emits).toEqual([{ ts: 0, name: 'x'.repeat(254), value: 1 }])
  })

  it('names each channel by the host once, keeps non-ASCII and 64-byte names, and reads values', async () => {
    const long = 'é'.repeat(40)
    const channels = ['flow', 'température', 'µ-😀', long]
    const host = await TestHost.start(probe(), { memoryPages: 1, channels })
    for (let t = 1; t <= 3; t++) {
      host.emits.length = 0
      expect(host.tick(t * 1000, [1.5, -2, Number.POSITIVE_INFINITY, 0.1])).toBe(0)
      const kept = 'é'.repeat(32)
      expect(host.emits).toEqual([
        { ts: t * 1000, name: 'flow', value: 1.5 },
        { ts: t * 1000, name: 'flow.at', value: t * 1000 },
        { ts: t * 1000, name: 'température', value: -2 },
        { ts: t * 1000, name: 'température.at', value: t * 1000 },
        { ts: t * 1000, name: 'µ-😀', value: Number.POSITIVE_INFINITY },
        { ts: t * 1000, name: 'µ-😀.at', value: t * 1000 },
        { ts: t * 1000, name: kept, value: 0.1 },
        { ts: t * 1000, name: `${kept}.at`, value: t * 1000 },
        // Past the last channel: no name, NaN; past the SDK's 64 names: the same, without asking the host.
        { ts: t * 1000, name: '', value: Number.NaN },
        { ts: t * 1000, name: '.at', value: t * 1000 },
        { ts: t * 1000, name: '', value: Number.NaN },
      ])
    }
    expect(host.nameLookups).toBe(channels.length + 1)
  })
})

describe('every app', () => {
  it('keeps the ABI when it is meant to: only ABI imports, env.memory imported, no start section', () => {
    for (const spec of APPS) {
      const bytes = readFileSync(appPath(spec.name))
      const check = checkAbi(bytes)
      if (spec.abi) expect(check, spec.name).toMatchObject({ ok: true })
      else expect(check, spec.name).toMatchObject({ ok: false, reason: expect.any(String) })
      expect(parseModule(bytes).start, spec.name).toBeNull()
    }
  })
})
