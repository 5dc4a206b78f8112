import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadKernel } from '../../../kernels/host/kernel.js'
import { DEFAULT_PARAMS, encodeParams, mergeParams } from '../../../kernels/host/params.js'
import { kernelPath } from '../../../kernels/node.js'
import { callWithFuel, fuelGlobal } from './fuel.js'
import { FUEL_EXPORT, MeterError, meter, rewrite } from './meter.js'
import { parseModule, WasmFormatError } from './parse.js'
import {
  type BodySpec,
  type Bytes,
  code,
  custom,
  exports,
  functions,
  imports,
  memory,
  minimalApp,
  module,
  op,
  T,
  types,
} from './testing/assemble.js'
import { buildFixture } from './testing/fixtures.js'
import { AppAbort, instantiateApp } from './testing/host.js'
import { planEveryInstruction } from './testing/naive.js'

const HUGE = 1n << 62n
/** The same cost model with a charge before every instruction: the reference for meter()'s counts. */
const naive = (bytes: Bytes) => rewrite(bytes, { initialFuel: HUGE }, (br) => planEveryInstruction(br))

/** One exported function `f` of the given type and body, with a memory of one page, in a module. */
function single(type: [number[], number[]], body: BodySpec, extra: BodySpec[] = []): Bytes {
  return module(
    types(type, [[], [T.i32]]),
    functions(0, ...extra.map(() => 1)),
    memory(1, 1),
    exports(['f', 'func', 0]),
    code(body, ...extra),
  )
}

/** Runs f once in a fresh instance of the metered module: its result and the fuel it used. */
async function run(
  bytes: Bytes,
  args: number[],
  budget = HUGE,
): Promise<{ value: unknown; used: bigint; ok: boolean; error?: unknown }> {
  const { instance } = await WebAssembly.instantiate(bytes, {})
  const fuel = fuelGlobal(instance.exports)
  const f = instance.exports.f as (...a: number[]) => unknown
  const r = callWithFuel(fuel, budget, () => f(...args))
  return r.ok
    ? { value: r.value, used: r.fuelUsed, ok: true }
    : { value: undefined, used: r.fuelUsed, ok: false, error: r.error }
}

/** The fuel f uses, metered by meter() and by the naive placement: they must agree. */
async function cost(bytes: Bytes, args: number[] = []): Promise<number> {
  const a = await run(meter(bytes), args)
  const b = await run(naive(bytes), args)
  expect(a.ok && b.ok).toBe(true)
  expect(a.used).toBe(b.used)
  expect(a.value).toEqual(b.value)
  return Number(a.used)
}

describe('the cost model: every instruction executed costs 1', () => {
  it('straight-line code, the function end included', async () => {
    expect(
      await cost(single([[], [T.i32]], { code: [op.i32_const, 1, op.i32_const, 2, op.i32_add, op.end] })),
    ).toBe(4)
  })

  it('if/else: the arm taken, and the end or else reached by falling into it', async () => {
    // local.get, if, const, else (then arm) | local.get, if, const, end (else arm); then the function end.
    const f = single([[T.i32], [T.i32]], {
      code: [op.local_get, 0, op.if, T.i32, op.i32_const, 10, op.else, op.i32_const, 20, op.end, op.end],
    })
    expect(await cost(f, [1])).toBe(5)
    expect(await cost(f, [0])).toBe(5)
    const noElse = single([[T.i32], []], {
      code: [op.local_get, 0, op.if, op.void, op.nop, op.nop, op.end, op.end],
    })
    expect(await cost(noElse, [1])).toBe(6)
    expect(await cost(noElse, [0])).toBe(3) // local.get, if, function end
  })

  it('a loop: its body each time round, its end once', async () => {
    const f = single([[T.i32], [T.i32]], {
      code: [
        ...[
          op.loop,
          op.void,
          op.local_get,
          0,
          op.i32_const,
          1,
          op.i32_sub,
          op.local_tee,
          0,
          op.br_if,
          0,
          op.end,
        ],
        ...[op.local_get, 0, op.end],
      ],
    })
    for (const n of [1, 2, 5, 1000]) expect(await cost(f, [n])).toBe(1 + 5 * n + 3)
  })

  it('a branch out of a block skips the rest of it, its end included', async () => {
    const f = single([[T.i32], []], {
      code: [op.block, op.void, op.local_get, 0, op.br_if, 0, op.nop, op.end, op.end],
    })
    expect(await cost(f, [1])).toBe(4) // block, local.get, br_if, function end
    expect(await cost(f, [0])).toBe(6) // ... nop, end, end
  })

  it('br_table to each target', async () => {
    const f = single([[T.i32], []], {
      code: [
        op.block,
        op.void,
        op.block,
        op.void,
        op.local_get,
        0,
        op.br_table,
        1,
        0,
        1,
        op.end,
        op.nop,
        op.end,
        op.end,
      ],
    })
    expect(await cost(f, [0])).toBe(7) // block, block, local.get, br_table, nop, end, end
    expect(await cost(f, [1])).toBe(5) // block, block, local.get, br_table, end
    expect(await cost(f, [9])).toBe(5) // the default
  })

  it('return skips the rest; a call adds the callee', async () => {
    expect(
      await cost(single([[], [T.i32]], { code: [op.i32_const, 1, op.return, op.i32_const, 2, op.end] })),
    ).toBe(2)
    const caller = single([[], [T.i32]], { code: [op.call, 1, op.i32_const, 1, op.i32_add, op.end] }, [
      { code: [op.i32_const, 41, op.end] },
    ])
    expect(await cost(caller)).toBe(4 + 2)
    expect((await run(meter(caller), [])).value).toBe(42)
  })

  it('blocks, loops and ifs typed by a type index, with parameters and several results', async () => {
    // type 2: (i32) -> (i32, i32)
    const f = module(
      types([[T.i32], [T.i32]], [[], [T.i32]], [[T.i32], [T.i32, T.i32]]),
      functions(0),
      exports(['f', 'func', 0]),
      code({
        code: [
          ...[op.local_get, 0, op.block, 2, op.i32_const, 3, op.end, op.i32_add], // (x, 3) -> x + 3
          ...[op.loop, 2, op.i32_const, 4, op.end, op.i32_add], // (y, 4) -> y + 4
          ...[op.local_get, 0, op.if, 2, op.i32_const, 5, op.else, op.i32_const, 16, op.end, op.i32_add], // (z, 5 or 16)
          op.end,
        ],
      }),
    )
    expect(WebAssembly.validate(meter(f))).toBe(true)
    expect(WebAssembly.validate(f)).toBe(true)
    expect((await run(meter(f), [1])).value).toBe(1 + 3 + 4 + 5)
    expect((await run(meter(f), [0])).value).toBe(0 + 3 + 4 + 16)
    // block: local.get, block, const, end, add; loop: loop, const, end, add; if: local.get, if, const, else or end, add, end.
    expect(await cost(f, [1])).toBe(5 + 4 + 6)
    expect(await cost(f, [0])).toBe(5 + 4 + 6)
  })

  it('bulk memory costs 1 more per 8 bytes; memory.grow 1024 more per page asked for', async () => {
    const fill = single([[T.i32], []], {
      code: [
        ...[op.i32_const, 0, op.i32_const, 0, op.local_get, 0, 0xfc, 11, 0],
        ...[op.i32_const, 0, op.i32_const, 0, op.local_get, 0, 0xfc, 10, 0, 0],
        op.end,
      ],
    })
    for (const n of [0, 7, 8, 9, 1000, 65536]) expect(await cost(fill, [n])).toBe(9 + 2 * Math.floor(n / 8))
    const grow = single([[T.i32], [T.i32]], { code: [op.local_get, 0, op.memory_grow, 0, op.end] })
    expect(await cost(grow, [0])).toBe(3)
    // The memory's maximum is 1 page: the grow fails (-1), and is charged all the same.
    const r = await run(meter(grow), [2])
    expect(r).toMatchObject({ ok: true, value: -1, used: 3n + 2048n })
    // -1 pages is 2^32 - 1 of them: no budget pays for that.
    expect(await run(meter(grow), [-1], 1n << 40n)).toMatchObject({ ok: false })
  })
})

describe('running out of fuel', () => {
  const countdown = single([[T.i32], [T.i32]], {
    code: [
      ...[
        op.loop,
        op.void,
        op.local_get,
        0,
        op.i32_const,
        1,
        op.i32_sub,
        op.local_tee,
        0,
        op.br_if,
        0,
        op.end,
      ],
      ...[op.local_get, 0, op.end],
    ],
  })

  it('a call returns exactly when the budget covers it, and traps with the fuel below zero otherwise', async () => {
    const metered = meter(countdown)
    const full = 1 + 5 * 10 + 3
    expect(await run(metered, [10], BigInt(full))).toMatchObject({ ok: true, used: BigInt(full) })
    for (let budget = 0; budget < full; budget++) {
      const r = await run(metered, [10], BigInt(budget))
      expect(r.ok).toBe(false)
      expect(r.used).toBeGreaterThan(budget)
      expect(r.error).toBeInstanceOf(WebAssembly.RuntimeError)
    }
  })

  it('an endless loop traps within one turn of the loop after the budget is spent, every time at the same count', async () => {
    const endless = meter(await buildFixture('endless'))
    const used: bigint[] = []
    for (let i = 0; i < 3; i++) {
      const app = await instantiateApp(endless)
      const r = callWithFuel(app.fuel!, 1_000_000n, () => app.call('tick'))
      expect(r).toMatchObject({ ok: false, outOfFuel: true })
      if (r.ok) throw new Error('returned')
      expect(r.error).toBeInstanceOf(WebAssembly.RuntimeError)
      expect((r.error as Error).message).toMatch(/unreachable/)
      expect(app.fuel!.value).toBeLessThan(0n)
      used.push(r.fuelUsed)
      // The same instance again: the same count.
      const again = callWithFuel(app.fuel!, 1_000_000n, () => app.call('tick'))
      expect(again.fuelUsed).toBe(r.fuelUsed)
    }
    expect(new Set(used).size).toBe(1)
    expect(used[0]! - 1_000_000n).toBeLessThan(20n)
  })

  it('endless recursion runs out of fuel (each function entry is charged)', async () => {
    const app = await instantiateApp(meter(await buildFixture('endless')))
    const r = callWithFuel(app.fuel!, 100_000n, () => app.call('recurse', 0))
    expect(r).toMatchObject({ ok: false, outOfFuel: true })
  })

  it('a memory hog stops at the host maximum, and one that keeps asking runs out of fuel', async () => {
    const hog = meter(await buildFixture('hog'))
    const app = await instantiateApp(hog, { pages: 1, maxPages: 4 })
    const r = callWithFuel(app.fuel!, 1_000_000n, () => app.call('tick'))
    expect(r).toMatchObject({ ok: true, value: 3 })
    expect(app.memory.buffer.byteLength).toBe(4 * 65536)
    if (r.ok) expect(r.fuelUsed).toBeGreaterThan(4n * 1024n) // four grows asked for, three given
    const forever = callWithFuel(app.fuel!, 1_000_000n, () => app.call('forever'))
    expect(forever).toMatchObject({ ok: false, outOfFuel: true })
    expect(app.memory.buffer.byteLength).toBe(4 * 65536)
  })

  it('other traps leave the fuel at or above zero: abort (the host throws) and unreachable', async () => {
    const trap = meter(await buildFixture('trap'))
    const hot = await instantiateApp(trap, { sensors: [150] })
    const aborted = callWithFuel(hot.fuel!, 1_000_000n, () => hot.call('tick'))
    expect(aborted).toMatchObject({ ok: false, outOfFuel: false })
    if (!aborted.ok) expect(aborted.error).toBeInstanceOf(AppAbort)
    const crashed = callWithFuel(hot.fuel!, 1_000_000n, () => hot.call('crash'))
    expect(crashed).toMatchObject({ ok: false, outOfFuel: false })
    if (!crashed.ok) expect(crashed.error).toBeInstanceOf(WebAssembly.RuntimeError)
    expect(hot.fuel!.value).toBeGreaterThanOrEqual(0n)
    const cool = await instantiateApp(trap, { sensors: [20] })
    expect(callWithFuel(cool.fuel!, 1_000_000n, () => cool.call('tick'))).toMatchObject({
      ok: true,
      value: 1,
    })
  })

  it('a tight budget: the call succeeds exactly when the budget covers its cost, and no host function ever runs on a negative fuel', async () => {
    const bytes = meter(await buildFixture('counter'))
    const prepared = async (sensors: number[]) => {
      const app = await instantiateApp(bytes, { sensors })
      callWithFuel(app.fuel!, HUGE, () => app.call('_initialize'))
      callWithFuel(app.fuel!, HUGE, () => app.call('init'))
      return app
    }
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 8 }),
        fc.nat(2000),
        async (sensors, budget) => {
          const reference = await prepared(sensors)
          const full = callWithFuel(reference.fuel!, HUGE, () => reference.call('tick'))
          if (!full.ok) throw full.error
          const app = await prepared(sensors)
          app.fuelAtHostCalls.length = 0
          const r = callWithFuel(app.fuel!, BigInt(budget), () => app.call('tick'))
          expect(r.ok).toBe(BigInt(budget) >= full.fuelUsed)
          if (r.ok) expect(r.fuelUsed).toBe(full.fuelUsed)
          else expect(r.outOfFuel).toBe(true)
          for (const f of app.fuelAtHostCalls) expect(f).toBeGreaterThanOrEqual(0n)
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe('metered apps compute what they computed, with a fuel that depends on their inputs only', () => {
  /** Runs _initialize, init and n ticks; returns the results, the emitted values and the fuel of each call. */
  async function session(bytes: Bytes, ticks: number, sensors: number[]) {
    const app = await instantiateApp(bytes, { sensors })
    const results: unknown[] = []
    const fuel: bigint[] = []
    for (const name of ['_initialize', 'init', ...Array<string>(ticks).fill('tick')]) {
      if (!app.exports[name]) continue
      if (app.fuel) {
        const r = callWithFuel(app.fuel, HUGE, () => app.call(name))
        if (!r.ok) throw r.error
        results.push(r.value)
        fuel.push(r.fuelUsed)
      } else {
        results.push(app.call(name))
      }
    }
    return { results, emitted: app.emitted, fuel, memory: new Uint8Array(app.memory.buffer).slice() }
  }

  for (const [name, options] of [
    ['counter', {}],
    ['counter', { optimizeLevel: 0 }],
    ['bulk', {}],
    ['bulk', { optimizeLevel: 0 }],
    ['simd', { enable: ['simd'] }],
    ['simd', { enable: ['simd'], optimizeLevel: 0 }],
  ] as const) {
    it(`${name} ${JSON.stringify(options)}`, async () => {
      const bytes = await buildFixture(name, options)
      const metered = meter(bytes)
      expect(WebAssembly.validate(metered)).toBe(true)
      expect(() => parseModule(metered)).not.toThrow()
      const sensors = [20, 21.5, 19.25, -3]
      const plain = await session(bytes, 20, sensors)
      const a = await session(metered, 20, sensors)
      const b = await session(metered, 20, sensors)
      const reference = await session(naive(bytes), 20, sensors)
      expect(a.results).toEqual(plain.results)
      expect(a.emitted).toEqual(plain.emitted)
      expect(a.memory).toEqual(plain.memory)
      expect(b.fuel).toEqual(a.fuel)
      expect(reference.fuel).toEqual(a.fuel)
      expect(a.fuel.every((f) => f > 0n)).toBe(true)
    })
  }

  it('bulk: the fuel grows with the bytes filled and copied', async () => {
    const app = await instantiateApp(meter(await buildFixture('bulk')))
    callWithFuel(app.fuel!, HUGE, () => app.call('_initialize'))
    const used = (n: number) => {
      const r = callWithFuel(app.fuel!, HUGE, () => app.call('fillAndCopy', n))
      if (!r.ok) throw r.error
      return r.fuelUsed
    }
    const small = used(64)
    const big = used(64 * 1001)
    // 8000 more 8-byte blocks filled, 4000 more copied, and the allocation's memory.grow.
    expect(big - small).toBeGreaterThanOrEqual(12_000n)
  })
})

describe('the kernel (kernels/build/edgewatch.wasm), metered', () => {
  let plainBytes: Bytes
  let meteredBytes: Bytes
  beforeAll(() => {
    plainBytes = new Uint8Array(readFileSync(kernelPath()))
    meteredBytes = meter(plainBytes, { initialFuel: HUGE })
  })

  function series(seed: number, n: number) {
    let s = seed
    const rnd = () => {
      s = (s * 1_103_515_245 + 12_345) % 2 ** 31
      return s / 2 ** 31
    }
    const ts = new Float64Array(n)
    const values = new Float64Array(n)
    let t = 1_700_000_000_000
    let level = 50
    for (let i = 0; i < n; i++) {
      t += rnd() < 0.02 ? Math.floor(rnd() * 300_000) : Math.floor(rnd() * 3000)
      if (rnd() < 0.005) level += (rnd() - 0.5) * 200
      ts[i] = t
      values[i] = level + (rnd() - 0.5) * 4 + (rnd() < 0.01 ? (rnd() - 0.5) * 500 : 0)
    }
    return { ts, values }
  }

  it('is valid for the engine and for the parser', () => {
    expect(WebAssembly.validate(meteredBytes)).toBe(true)
    expect(parseModule(meteredBytes).exports.find((e) => e.name === FUEL_EXPORT)).toMatchObject({
      kind: 'global',
    })
  })

  it('gives bit-for-bit the same scores, flags, windows and state through loadKernel', async () => {
    const plain = await loadKernel(plainBytes)
    const metered = await loadKernel(meteredBytes)
    // The index of the first byte that differs (-1 when none): a byte loop, as deep equality is slow here.
    const diff = (x: Float64Array | Uint8Array, y: Float64Array | Uint8Array) => {
      const a = new Uint8Array(x.buffer, x.byteOffset, x.byteLength)
      const b = new Uint8Array(y.buffer, y.byteOffset, y.byteLength)
      if (a.length !== b.length) return Math.min(a.length, b.length)
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i
      return -1
    }
    for (const params of [
      DEFAULT_PARAMS,
      mergeParams(DEFAULT_PARAMS, { enabled: { context: true }, window: { ms: 30_000, slideMs: 5_000 } }),
    ]) {
      const encoded = encodeParams(params)
      for (const seed of [1, 7, 42]) {
        const { ts, values } = series(seed, 20_000)
        const half = 9_999
        let statePlain: Uint8Array | undefined
        let stateMetered: Uint8Array | undefined
        for (const [from, to] of [
          [0, half],
          [half, ts.length],
        ]) {
          const a = plain.run(statePlain, ts.subarray(from, to), values.subarray(from, to), encoded)
          const b = metered.run(stateMetered, ts.subarray(from, to), values.subarray(from, to), encoded)
          expect(a.flags.some((f) => f !== 0)).toBe(true)
          expect(diff(b.scores, a.scores)).toBe(-1)
          expect(diff(b.flags, a.flags)).toBe(-1)
          expect(diff(b.windows, a.windows)).toBe(-1)
          expect(diff(b.state, a.state)).toBe(-1)
          statePlain = a.state
          stateMetered = b.state
        }
      }
    }
  })

  it('uses the same fuel on every run, as the naive placement counts it', async () => {
    const drive = async (bytes: Bytes) => {
      const instance = (await WebAssembly.instantiate(bytes, {})).instance
      const k = instance.exports as Record<string, (...a: number[]) => number> & {
        memory: WebAssembly.Memory
      }
      const fuel = fuelGlobal(instance.exports)
      const params = encodeParams(DEFAULT_PARAMS)
      new Float64Array(k.memory.buffer, k.paramsPtr!(), params.length).set(params)
      const { ts, values } = series(3, Math.min(k.capacity!(), 4096))
      const used: bigint[] = []
      for (let round = 0; round < 3; round++) {
        const r = callWithFuel(fuel, HUGE, () => {
          k.reset!()
          new Float64Array(k.memory.buffer, k.tsPtr!(), ts.length).set(ts)
          new Float64Array(k.memory.buffer, k.valuePtr!(), values.length).set(values)
          for (let done = 0; done < ts.length; ) done = k.process!(done, ts.length)
        })
        if (!r.ok) throw r.error
        used.push(r.fuelUsed)
      }
      return used
    }
    const a = await drive(meteredBytes)
    const b = await drive(meteredBytes)
    expect(a[0]).toBeGreaterThan(0n)
    expect(new Set([...a, ...b]).size).toBe(1)
    expect(await drive(naive(plainBytes))).toEqual(a)
  })

  it('traps in the middle of a batch when the budget is small', async () => {
    const instance = (await WebAssembly.instantiate(meteredBytes, {})).instance
    const k = instance.exports as Record<string, (...a: number[]) => number>
    const r = callWithFuel(fuelGlobal(instance.exports), 10_000n, () => {
      k.reset!()
      k.process!(0, 1000)
    })
    expect(r).toMatchObject({ ok: false, outOfFuel: true })
  })
})

describe('meter() as a transform', () => {
  it('adds one mutable i64 global after the existing ones, exported, set to initialFuel', async () => {
    const withImportedGlobal = module(
      types([[], [T.i32]]),
      imports(['env', 'g', { global: T.i32 }]),
      functions(0),
      exports(['f', 'func', 0]),
      code({ code: [op.global_get, 0, op.end] }),
    )
    const metered = meter(withImportedGlobal, { initialFuel: 1234n })
    const m = parseModule(metered)
    expect(m.globals).toEqual([{ valType: 'i64', mutable: true }])
    expect(m.exports).toContainEqual({ name: FUEL_EXPORT, kind: 'global', index: 1 })
    const g = new WebAssembly.Global({ value: 'i32', mutable: false }, 5)
    const { instance } = await WebAssembly.instantiate(metered, { env: { g } })
    const fuel = fuelGlobal(instance.exports)
    expect(fuel.value).toBe(1234n)
    expect((instance.exports.f as () => number)()).toBe(5)
    expect(fuel.value).toBe(1232n)
  })

  it('makes the global and export sections where there were none, in the right order', () => {
    const bare = module(types([[], []]), functions(0), code({ code: [op.end] }))
    const m = parseModule(meter(bare))
    expect(m.sections.map((s) => s.id)).toEqual([1, 3, 6, 7, 10])
    expect(WebAssembly.validate(meter(bare))).toBe(true)
    expect(parseModule(meter(module())).sections.map((s) => s.id)).toEqual([6, 7])
  })

  it('is deterministic, refuses a metered module and what the parser refuses', () => {
    const app = minimalApp()
    expect(meter(app)).toEqual(meter(app))
    expect(() => meter(meter(app))).toThrow(MeterError)
    expect(() => meter(Uint8Array.from([1, 2, 3]))).toThrow(WasmFormatError)
    expect(() => meter(app, { initialFuel: -1n })).toThrow(RangeError)
    expect(() => meter(app, { initialFuel: 1n << 63n })).toThrow(RangeError)
  })

  it('keeps custom sections but drops code-offset hints that would point at the wrong instructions', () => {
    const app = minimalApp({ extra: [custom('name', [0]), custom('metadata.code.branch_hint', [0])] })
    expect(parseModule(meter(app)).customs.map((c) => c.name)).toEqual(['name'])
  })

  it('adds its i32 local only where a bulk operation needs it, and refuses at the engine locals limit', () => {
    const body = (locals: number) => ({
      locals: [[locals, T.i32]] as [number, number][],
      code: [op.i32_const, 0, op.i32_const, 0, op.i32_const, 0, 0xfc, 11, 0, op.end],
    })
    expect(WebAssembly.validate(meter(single([[], []], body(49_999))))).toBe(true)
    expect(() => meter(single([[], []], body(50_000)))).toThrow(
      /has 50000 locals; its bulk-memory charges need one more/,
    )
    // Without a bulk operation, no local is added and 50000 stays fine.
    expect(WebAssembly.validate(meter(single([[], []], { locals: [[50_000, T.i32]], code: [op.end] })))).toBe(
      true,
    )
  })

  it('meters the kernel in about a millisecond', () => {
    const bytes = readFileSync(kernelPath())
    const t0 = performance.now()
    for (let i = 0; i < 10; i++) meter(bytes)
    expect((performance.now() - t0) / 10).toBeLessThan(50)
  })
})
