// Property tests: whatever bytes arrive, validateApp answers with a value (never throws) in bounded
// time, the parser never accepts what the engine refuses for a reason other than a proposal we do not
// support... and whatever the parser accepts and the engine validates, meter() turns into a module the
// engine validates too.
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { kernelPath } from '../../../kernels/node.js'
import { DEFAULT_MAX_APP_BYTES } from './abi.js'
import { MeterError, meter } from './meter.js'
import { parseModule } from './parse.js'
import { type Bytes, minimalApp, module, section } from './testing/assemble.js'
import { buildFixture } from './testing/fixtures.js'
import { validateApp } from './validate.js'

const LIMITS = { maxBytes: DEFAULT_MAX_APP_BYTES, memoryPages: 16 }
/** Generous for one validation of at most 256 KiB; the point is that nothing loops or allocates per declared count. */
const MAX_MS = 250

let slowest = 0
function validateTimed(bytes: Bytes) {
  const t0 = performance.now()
  const result = validateApp(bytes, LIMITS)
  slowest = Math.max(slowest, performance.now() - t0)
  expect(typeof result.ok).toBe('boolean')
  if (!result.ok) {
    expect(typeof result.reason).toBe('string')
    expect(result.reason.length).toBeGreaterThan(0)
  }
  return result
}

/** The parser's verdict against the engine's, and meter() on what both accept. */
function crossCheck(bytes: Bytes): void {
  validateTimed(bytes)
  let parsed = true
  let reason = ''
  try {
    parseModule(bytes)
  } catch (e) {
    parsed = false
    reason = (e as Error).message
  }
  const engine = WebAssembly.validate(bytes)
  if (engine && !parsed) expect(reason).toMatch(/not supported/)
  if (parsed && engine) {
    let metered: Bytes
    try {
      metered = meter(bytes)
    } catch (e) {
      expect(e).toBeInstanceOf(MeterError)
      return
    }
    expect(WebAssembly.validate(metered)).toBe(true)
  }
}

const samples: Record<string, Bytes> = {}
beforeAll(async () => {
  samples.counter = await buildFixture('counter')
  samples.counterDebug = await buildFixture('counter', { optimizeLevel: 0 })
  samples.simd = await buildFixture('simd', { enable: ['simd'] })
  samples.bulk = await buildFixture('bulk')
  samples.kernel = new Uint8Array(readFileSync(kernelPath())) // a copy: Buffer.slice() would not copy
  samples.minimal = minimalApp()
  slowest = 0
})

describe('validateApp on hostile bytes', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => void validateTimed(bytes)),
      { numRuns: 2000 },
    )
    expect(slowest).toBeLessThan(MAX_MS)
  })

  it('random sections after a valid header', () => {
    const sections = fc.array(
      fc
        .tuple(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 64 }))
        .map(([id, payload]) => section(id, [...payload])),
      { maxLength: 12 },
    )
    fc.assert(
      fc.property(sections, (ss) => crossCheck(module(...ss))),
      { numRuns: 3000 },
    )
    expect(slowest).toBeLessThan(MAX_MS)
  })

  it('every truncation of valid modules', () => {
    for (const [name, bytes] of Object.entries(samples)) {
      for (let length = 0; length < bytes.length; length++) {
        const cut = bytes.subarray(0, length)
        const result = validateTimed(cut)
        if (name !== 'kernel' && result.ok) expect(WebAssembly.validate(cut)).toBe(true)
      }
    }
    expect(slowest).toBeLessThan(MAX_MS)
  })

  it('valid modules with one byte changed: a reason, or a module the engine and the meter handle', () => {
    for (const [name, bytes] of Object.entries(samples)) {
      fc.assert(
        fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }), (at, value) => {
          const flipped = bytes.slice()
          flipped[at] = value
          crossCheck(flipped)
        }),
        { numRuns: name === 'kernel' ? 1500 : 600 },
      )
    }
    expect(slowest).toBeLessThan(MAX_MS)
  })

  it('valid modules with a run of bytes replaced by large LEB128 values', () => {
    const leb = fc.constantFrom(
      [0xff, 0xff, 0xff, 0xff, 0x0f],
      [0x80, 0x80, 0x80, 0x80, 0x08],
      [0xff, 0xff, 0xff, 0xff, 0x7f],
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
    )
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(samples)), fc.nat(), leb, (bytes, at, value) => {
        const flipped = bytes.slice()
        flipped.set(value.slice(0, bytes.length - (at % bytes.length)), at % bytes.length)
        crossCheck(flipped)
      }),
      { numRuns: 1500 },
    )
    expect(slowest).toBeLessThan(MAX_MS)
  })

  it('the largest module allowed, made of many tiny functions, validates and meters quickly', () => {
    // 256 KiB of `() -> ()` functions with an empty body: the most items the size limit allows.
    const n = 60_000
    const bodies: number[] = []
    for (let i = 0; i < n; i++) bodies.push(2, 0, 0x0b)
    const funcs: number[] = []
    for (let i = 0; i < n; i++) funcs.push(0)
    const u32 = (x: number) => {
      const out: number[] = []
      do {
        out.push((x & 0x7f) | (x > 0x7f ? 0x80 : 0))
        x >>>= 7
      } while (x)
      return out
    }
    const bytes = module(
      section(1, [1, 0x60, 0, 0]),
      section(3, [...u32(n), ...funcs]),
      section(10, [...u32(n), ...bodies]),
    )
    expect(bytes.length).toBeLessThan(DEFAULT_MAX_APP_BYTES)
    const t0 = performance.now()
    expect(validateApp(bytes, LIMITS)).toEqual({
      ok: false,
      reason: 'the module does not import env.memory; an app must (asc --importMemory)',
    })
    expect(WebAssembly.validate(meter(bytes))).toBe(true)
    expect(performance.now() - t0).toBeLessThan(2000)
  })

  it('the largest module allowed, made of empty custom sections, validates and meters quickly', () => {
    const empty = [0, 1, 0] // id 0, size 1, a name of 0 bytes
    const n = Math.floor((DEFAULT_MAX_APP_BYTES - 100) / empty.length)
    const app = minimalApp()
    const bytes = new Uint8Array(app.length + n * empty.length)
    bytes.set(app)
    for (let i = 0; i < n; i++) bytes.set(empty, app.length + i * empty.length)
    const t0 = performance.now()
    expect(validateApp(bytes, LIMITS).ok).toBe(true)
    expect(parseModule(meter(bytes)).customs.length).toBe(n)
    expect(performance.now() - t0).toBeLessThan(2000)
  })
})
