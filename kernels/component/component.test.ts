// The kernel component (built from kernels/assembly through the canonical-ABI wrapper) must give
// bit-identical results to the plain Wasm kernel on Node, state snapshots included.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { transpile } from '@bytecodealliance/jco'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { componentKernel, type DetectRun } from '../../functions/spin/component-kernel.js'
import { type Kernel, KernelStateError, type SeriesResult } from '../host/kernel.js'
import { DEFAULT_PARAMS, type DetectorParams, encodeParams, mergeParams } from '../host/params.js'
import * as L from '../layout.js'
import { loadNodeKernel } from '../node.js'
import { buildKernelComponent } from './build.js'

let node: Kernel
let component: Kernel
let run: DetectRun
let dir: string
let componentBytes = 0

beforeAll(async () => {
  const [built, nodeKernel] = await Promise.all([buildKernelComponent(null), loadNodeKernel()])
  componentBytes = built.component.length
  node = nodeKernel
  dir = mkdtempSync(join(tmpdir(), 'edgewatch-kernel-component-'))
  const { files } = await transpile(built.component, { name: 'kernel', noTypescript: true, quiet: true })
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), bytes)
  }
  const mod = (await import(pathToFileURL(join(dir, 'kernel.js')).href)) as { detect: { run: DetectRun } }
  run = mod.detect.run
  component = componentKernel(run)
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

function rng(seed: number) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
}

/** Random walk with noise, spikes, level shifts, stuck runs, gaps and out-of-order timestamps. */
function series(seed: number, n: number, step = 3000) {
  const rnd = rng(seed)
  const ts = new Float64Array(n)
  const values = new Float64Array(n)
  let t = 1_700_000_000_000 + Math.floor(rnd() * 1e6)
  let level = rnd() * 100 - 50
  let stuck = 0
  for (let i = 0; i < n; i++) {
    const r = rnd()
    t +=
      r < 0.02 ? Math.floor(rnd() * 300_000) : r < 0.03 ? -Math.floor(rnd() * 5000) : Math.floor(rnd() * step)
    if (rnd() < 0.005) level += (rnd() - 0.5) * 200
    let v = level + (rnd() - 0.5) * 4
    if (rnd() < 0.01) v += (rnd() - 0.5) * 500
    if (stuck > 0) {
      stuck--
      v = values[i - 1]!
    } else if (rnd() < 0.004) stuck = 40
    if (rnd() < 0.001) v = Number.NaN
    ts[i] = t
    values[i] = v
  }
  return { ts, values }
}

const ALL_ON: DetectorParams = mergeParams(DEFAULT_PARAMS, {
  threshold: { lo: -60, hi: 60 },
  outlier: { warmup: 10 },
  stuck: { n: 8, minRate: 0.3 },
  window: { ms: 30_000, slideMs: 5_000 },
  enabled: { threshold: true, outlier: true, spike: true, drift: true, stuck: true, window: true },
})
const WIDE_WINDOW = mergeParams(ALL_ON, { window: { ms: 160_000, slideMs: 10_000 } })
const PARAMS = [encodeParams(DEFAULT_PARAMS), encodeParams(ALL_ON), encodeParams(WIDE_WINDOW)]

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
}

/**
 * Bit-identical f64s, signed zeros included, except NaN payloads: V8 does not keep a NaN's sign
 * bit stable across its compilers, so the same kernel binary may return 0x7ff8… once and 0xfff8…
 * another time. Any NaN matches any NaN; every other value must have the same 64 bits.
 */
function sameFloats(got: Float64Array, want: Float64Array): string | undefined {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`
  const g = new BigUint64Array(got.slice().buffer)
  const w = new BigUint64Array(want.slice().buffer)
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i])))
      return `at ${i}: ${got[i]} (0x${g[i]!.toString(16)}) != ${want[i]} (0x${w[i]!.toString(16)})`
  }
  return undefined
}

const asFloats = (state: Uint8Array) => new Float64Array(state.slice().buffer)

function expectSame(got: SeriesResult, want: SeriesResult) {
  expect(got.scores).toBeInstanceOf(Float64Array)
  expect(got.flags).toBeInstanceOf(Uint8Array)
  expect(got.windows).toBeInstanceOf(Float64Array)
  expect(got.state).toBeInstanceOf(Uint8Array)
  expect(sameFloats(got.scores, want.scores)).toBeUndefined()
  expect(Buffer.compare(bytesOf(got.flags), bytesOf(want.flags))).toBe(0)
  expect(sameFloats(got.windows, want.windows)).toBeUndefined()
  expect(got.state.byteLength).toBe(want.state.byteLength)
  expect(sameFloats(asFloats(got.state), asFloats(want.state))).toBeUndefined()
}

describe('kernel component', () => {
  it('is a small component', () => {
    expect(componentBytes).toBeGreaterThan(0)
    expect(componentBytes).toBeLessThan(16 * 1024)
  })

  it('matches the Node kernel on random series from a fresh state', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const n = [0, 1, 2, 17, 500, 3000][seed % 6]!
      const { ts, values } = series(seed, n)
      for (const params of PARAMS)
        expectSame(component.run(undefined, ts, values, params), node.run(undefined, ts, values, params))
    }
  })

  it('matches across chunk boundaries and when the window region fills', () => {
    // More samples than CAPACITY, and sparse timestamps that close many windows per chunk.
    const { ts, values } = series(99, L.CAPACITY + 1234)
    const sparse = series(7, 9000, 200_000)
    for (const params of PARAMS) {
      expectSame(component.run(undefined, ts, values, params), node.run(undefined, ts, values, params))
      const got = component.run(undefined, sparse.ts, sparse.values, params)
      expectSame(got, node.run(undefined, sparse.ts, sparse.values, params))
    }
    const windows = component.run(undefined, sparse.ts, sparse.values, encodeParams(ALL_ON)).windows
    expect(windows.length / L.W_FIELDS).toBeGreaterThan(L.WINDOW_CAPACITY)
  })

  it('round-trips state: batch by batch equals the whole, and snapshots cross hosts', () => {
    for (let seed = 20; seed < 30; seed++) {
      const rnd = rng(seed)
      const { ts, values } = series(seed, 2000)
      for (const params of PARAMS) {
        const whole = node.run(undefined, ts, values, params)
        let stateC: Uint8Array | undefined
        let stateN: Uint8Array | undefined
        const scores: number[] = []
        let at = 0
        while (at < ts.length) {
          const len = Math.min(ts.length - at, Math.floor(rnd() * 300))
          const t = ts.subarray(at, at + len)
          const v = values.subarray(at, at + len)
          const c = component.run(stateC, t, v, params)
          const n = node.run(stateN, t, v, params)
          expectSame(c, n)
          // cross-host: each host continues from the other's snapshot
          if (rnd() < 0.5) {
            stateC = n.state
            stateN = c.state
          } else {
            stateC = c.state
            stateN = n.state
          }
          scores.push(...c.scores)
          at += len
        }
        expect(sameFloats(Float64Array.from(scores), whole.scores)).toBeUndefined()
        expect(sameFloats(asFloats(stateC!), asFloats(whole.state))).toBeUndefined()
      }
    }
  })

  it('restores a snapshot taken with another window size like the Node kernel', () => {
    const { ts, values } = series(5, 800)
    const first = node.run(undefined, ts.subarray(0, 400), values.subarray(0, 400), PARAMS[1]!)
    const rest = [ts.subarray(400), values.subarray(400)] as const
    expectSame(
      component.run(first.state, rest[0], rest[1], PARAMS[2]!),
      node.run(first.state, rest[0], rest[1], PARAMS[2]!),
    )
  })

  it('rejects what the Node kernel rejects, with the same errors, and keeps working', () => {
    const p = PARAMS[1]!
    const one = new Float64Array([1])
    const bad = [new Uint8Array(0), new Uint8Array(7), new Uint8Array(8 * (L.S_BUCKETS + L.B_FIELDS))]
    for (const state of bad) {
      expect(() => node.run(state, one, one, p)).toThrow(KernelStateError)
      expect(() => component.run(state, one, one, p)).toThrow(KernelStateError)
    }
    expect(() => component.run(undefined, one, new Float64Array(2), p)).toThrow(RangeError)
    expect(() => component.run(undefined, one, one, new Float64Array(3))).toThrow(RangeError)
    expectSame(component.run(undefined, one, one, p), node.run(undefined, one, one, p))
  })

  it('survives many calls without growing (the heap is reset after each call)', () => {
    const { ts, values } = series(3, 5000)
    const want = node.run(undefined, ts, values, PARAMS[1]!)
    for (let i = 0; i < 200; i++) run(new Uint8Array(0), ts, values, PARAMS[1]!)
    expectSame(component.run(undefined, ts, values, PARAMS[1]!), want)
  })
})
