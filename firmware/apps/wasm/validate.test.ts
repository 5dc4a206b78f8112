import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_MAX_APP_BYTES } from './abi.js'
import { meter } from './meter.js'
import {
  code,
  custom,
  exports,
  functions,
  globals,
  imports,
  minimalApp,
  module,
  op,
  section,
  T,
  types,
  u32,
} from './testing/assemble.js'
import { buildFixture } from './testing/fixtures.js'
import { type AppLimits, validateApp } from './validate.js'

const LIMITS: AppLimits = { maxBytes: DEFAULT_MAX_APP_BYTES, memoryPages: 16 }

function reason(bytes: Uint8Array, limits: AppLimits = LIMITS): string {
  const result = validateApp(bytes, limits)
  if (result.ok) throw new Error('accepted')
  return result.reason
}

const fixtures: Record<string, Uint8Array> = {}
beforeAll(async () => {
  for (const name of ['counter', 'endless', 'hog', 'trap', 'wasi', 'notick', 'bulk'])
    fixtures[name] = await buildFixture(name)
  fixtures.counterDebug = await buildFixture('counter', { optimizeLevel: 0 })
  fixtures.simd = await buildFixture('simd', { enable: ['simd'] })
  fixtures.ownMemory = await buildFixture('counter', { importMemory: false })
  fixtures.startSection = await buildFixture('counter', { exportStart: false })
})

describe('validateApp accepts', () => {
  it('an AssemblyScript app using every host function, with what it imports and exports', () => {
    const result = validateApp(fixtures.counter!, LIMITS)
    expect(result).toEqual({
      ok: true,
      app: {
        imports: expect.arrayContaining([
          'env.memory',
          'env.abort',
          'edgewatch.now_ms',
          'edgewatch.sensor_count',
          'edgewatch.sensor_read',
          'edgewatch.sensor_name',
          'edgewatch.emit',
          'edgewatch.log',
        ]),
        exports: expect.arrayContaining(['tick', 'init', '_initialize', 'memory']),
        memoryMin: 1,
        memoryMax: null,
        size: fixtures.counter!.length,
      },
    })
    if (result.ok) expect(result.app.imports).toHaveLength(8)
  })

  it('the endless, memory-hogging, trapping, bulk-memory and SIMD apps (limits apply when they run)', () => {
    for (const name of ['endless', 'hog', 'trap', 'bulk', 'simd', 'counterDebug'])
      expect(validateApp(fixtures[name]!, LIMITS).ok, name).toBe(true)
  })

  it('a hand-made app with only the memory import and tick', () => {
    expect(validateApp(minimalApp(), LIMITS)).toEqual({
      ok: true,
      app: {
        imports: ['env.memory'],
        exports: ['tick'],
        memoryMin: 1,
        memoryMax: null,
        size: minimalApp().length,
      },
    })
  })

  it('a memory maximum equal to the limit, and a module exactly at the size limit', () => {
    const app = minimalApp({ imports: imports(['env', 'memory', { memory: [1, 16] }]) })
    expect(validateApp(app, LIMITS)).toMatchObject({ ok: true, app: { memoryMax: 16 } })
    expect(validateApp(app, { ...LIMITS, maxBytes: app.length }).ok).toBe(true)
  })
})

describe('validateApp refuses, with one precise reason', () => {
  it('a module above the size limit (the limit is a parameter)', () => {
    const huge = minimalApp({ extra: [custom('padding', Array(300 * 1024).fill(0))] })
    expect(huge.length).toBeGreaterThan(256 * 1024)
    expect(reason(huge)).toBe(`the module is ${huge.length} bytes, above the limit of 262144 bytes`)
    expect(validateApp(huge, { ...LIMITS, maxBytes: 1024 * 1024 }).ok).toBe(true)
  })

  it('malformed bytes, with the parser reason', () => {
    expect(reason(new Uint8Array(0))).toBe('malformed module: not a WebAssembly module (no \\0asm magic)')
    expect(reason(fixtures.counter!.subarray(0, 40))).toMatch(
      /^malformed module: truncated section \d+ at byte \d+$/,
    )
    expect(reason(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 14, 0]))).toBe(
      'malformed module: unknown section id 14 at byte 8',
    )
  })

  it('a forbidden import, named', () => {
    expect(reason(fixtures.wasi!)).toBe('forbidden import wasi_snapshot_preview1.fd_write')
    const seed = minimalApp({
      types: types([[], [T.i32]], [[], [T.f64]]),
      imports: imports(['env', 'memory', { memory: [1] }], ['env', 'seed', { func: 1 }]),
    })
    expect(reason(seed)).toBe('forbidden import env.seed')
    const fromOtherModule = minimalApp({
      types: types([[], [T.i32]], [[], [T.f64]]),
      imports: imports(['env', 'memory', { memory: [1] }], ['host', 'now_ms', { func: 1 }]),
    })
    expect(reason(fromOtherModule)).toBe('forbidden import host.now_ms')
  })

  it('a table or global import, even under an allowed module name', () => {
    expect(
      reason(
        minimalApp({
          imports: imports(['env', 'memory', { memory: [1] }], ['env', 'table', { table: [1] }]),
        }),
      ),
    ).toBe('forbidden import env.table')
    expect(
      reason(
        minimalApp({
          imports: imports(['env', 'memory', { memory: [1] }], ['edgewatch', 'g', { global: T.i32 }]),
        }),
      ),
    ).toBe('forbidden import edgewatch.g')
    expect(
      reason(
        minimalApp({
          imports: imports(['env', 'memory', { memory: [1] }], ['env', 'abort', { global: T.i32 }]),
        }),
      ),
    ).toBe('import env.abort must be a function, not a global')
    expect(reason(minimalApp({ imports: imports(['env', 'memory', { table: [1] }]) }))).toBe(
      'import env.memory must be a memory, not a table',
    )
  })

  it('an allowed import with the wrong signature', () => {
    const wrong = (t: [number[], number[]], module: string, name: string) =>
      reason(
        minimalApp({
          types: types([[], [T.i32]], t),
          imports: imports(['env', 'memory', { memory: [1] }], [module, name, { func: 1 }]),
        }),
      )
    expect(wrong([[T.i32], [T.i32]], 'edgewatch', 'sensor_read')).toBe(
      'import edgewatch.sensor_read has type (i32) -> i32; the ABI says (i32) -> f64',
    )
    expect(wrong([[T.i32, T.i32, T.f64], [T.i32]], 'edgewatch', 'emit')).toBe(
      'import edgewatch.emit has type (i32, i32, f64) -> i32; the ABI says (i32, i32, f64) -> ()',
    )
    expect(wrong([[T.i32, T.i32, T.i32], []], 'env', 'abort')).toBe(
      'import env.abort has type (i32, i32, i32) -> (); the ABI says (i32, i32, i32, i32) -> ()',
    )
    expect(wrong([[], [T.i64]], 'edgewatch', 'now_ms')).toBe(
      'import edgewatch.now_ms has type () -> i64; the ABI says () -> f64',
    )
  })

  it('a memory of its own', () => {
    expect(reason(fixtures.ownMemory!)).toBe(
      'the module defines its own memory; an app must import env.memory',
    )
  })

  it('no memory import (AssemblyScript with --importMemory always has one: the ABI requires it)', () => {
    expect(reason(minimalApp({ imports: imports() }))).toBe(
      'the module does not import env.memory; an app must (asc --importMemory)',
    )
  })

  it('a memory import above the release limit, or shared', () => {
    expect(reason(minimalApp({ imports: imports(['env', 'memory', { memory: [17] }]) }))).toBe(
      "import env.memory needs at least 17 pages, above the release's limit of 16 pages",
    )
    expect(reason(minimalApp({ imports: imports(['env', 'memory', { memory: [1, 17] }]) }))).toBe(
      "import env.memory declares a maximum of 17 pages, above the release's limit of 16 pages",
    )
    expect(
      reason(minimalApp({ imports: imports(['env', 'memory', { memory: [1, 4], shared: true }]) })),
    ).toBe("import env.memory is a shared memory; an app's memory is not shared")
  })

  it('no tick, or a tick, init or _initialize of the wrong kind or type', () => {
    expect(reason(fixtures.notick!)).toBe('the module does not export tick')
    expect(
      reason(
        minimalApp({
          types: types([[], [T.f64]]),
          code: code({ code: [op.f64_const, 0, 0, 0, 0, 0, 0, 0, 0, op.end] }),
        }),
      ),
    ).toBe('export tick has type () -> f64; the ABI says () -> i32')
    const withGlobal = (name: string) =>
      reason(
        module(
          types([[], [T.i32]]),
          imports(['env', 'memory', { memory: [1] }]),
          functions(0),
          globals({ type: T.i32, mutable: false, init: [op.i32_const, 0] }),
          exports([name, 'global', 0], ['other', 'func', 0]),
          code({ code: [op.i32_const, 7, op.end] }),
        ),
      )
    expect(withGlobal('tick')).toBe('export tick must be a function, not a global')
    const twoFunctions = (name: string, t: [number[], number[]]) =>
      reason(
        minimalApp({
          types: types([[], [T.i32]], t),
          functions: functions(0, 1),
          exports: exports(['tick', 'func', 0], [name, 'func', 1]),
          code: code({ code: [op.i32_const, 7, op.end] }, { code: [op.unreachable, op.end] }),
        }),
      )
    expect(twoFunctions('init', [[], []])).toBe('export init has type () -> (); the ABI says () -> i32')
    expect(twoFunctions('init', [[T.i32], [T.i32]])).toBe(
      'export init has type (i32) -> i32; the ABI says () -> i32',
    )
    expect(twoFunctions('_initialize', [[], [T.i32]])).toBe(
      'export _initialize has type () -> i32; the ABI says () -> ()',
    )
  })

  it('a start section, from AssemblyScript without --exportStart', () => {
    expect(reason(fixtures.startSection!)).toMatch(
      /^the module has a start section \(function \d+\), which would run before the host applies its limits; export it instead \(asc --exportStart _initialize\)$/,
    )
    const hand = module(
      types([[], [T.i32]], [[], []]),
      imports(['env', 'memory', { memory: [1] }]),
      functions(0, 1),
      exports(['tick', 'func', 0]),
      section(8, u32(1)),
      code({ code: [op.i32_const, 7, op.end] }, { code: [op.end] }),
    )
    expect(reason(hand)).toMatch(/^the module has a start section \(function 1\)/)
  })

  it('an export under the host reserved prefix, so a metered module is not an app', () => {
    expect(reason(minimalApp({ exports: exports(['tick', 'func', 0], ['__edgewatch_x', 'func', 0]) }))).toBe(
      "export __edgewatch_x: names starting with __edgewatch_ are the host's",
    )
    expect(reason(meter(fixtures.counter!))).toBe(
      "export __edgewatch_fuel: names starting with __edgewatch_ are the host's",
    )
  })

  it('refuses bad limits as a programming error', () => {
    expect(() => validateApp(minimalApp(), { maxBytes: 0, memoryPages: 1 })).toThrow(RangeError)
    expect(() => validateApp(minimalApp(), { maxBytes: 10, memoryPages: 65537 })).toThrow(RangeError)
  })
})

describe('where there is no WebAssembly global (Spin, some workerd configurations)', () => {
  it('validateApp and meter work from the bytes alone', () => {
    const g = globalThis as { WebAssembly?: unknown }
    const saved = g.WebAssembly
    delete g.WebAssembly
    try {
      expect(validateApp(fixtures.counter!, LIMITS).ok).toBe(true)
      expect(reason(fixtures.wasi!)).toBe('forbidden import wasi_snapshot_preview1.fd_write')
      expect(meter(fixtures.counter!).length).toBeGreaterThan(fixtures.counter!.length)
    } finally {
      g.WebAssembly = saved
    }
    expect(WebAssembly.validate(meter(fixtures.counter!))).toBe(true)
  })
})
