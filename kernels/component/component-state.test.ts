// The kernel component's `run-state` must give bit-identical results to the plain Wasm kernel's state
// detector on Node, snapshots taken mid-stream included, with the same errors for bad input.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { transpile } from '@bytecodealliance/jco'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  componentKernel,
  type DetectRun,
  type DetectRunState,
} from '../../functions/spin/component-kernel.js'
import { type Kernel, KernelStateError } from '../host/kernel.js'
import { DEFAULT_PARAMS, encodeStateParams } from '../host/params.js'
import type { StateResult } from '../host/state.js'
import { loadNodeKernel } from '../node.js'
import { buildKernelComponent } from './build.js'

let node: Kernel
let component: Kernel
let dir: string

beforeAll(async () => {
  const [built, nodeKernel] = await Promise.all([buildKernelComponent(null), loadNodeKernel()])
  node = nodeKernel
  dir = mkdtempSync(join(tmpdir(), 'edgewatch-kernel-component-state-'))
  const { files } = await transpile(built.component, { name: 'kernel', noTypescript: true, quiet: true })
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), bytes)
  }
  const mod = (await import(pathToFileURL(join(dir, 'kernel.js')).href)) as {
    detect: { run: DetectRun; runState: DetectRunState }
  }
  component = componentKernel(mod.detect.run, mod.detect.runState)
})

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** 9,000 rows of 5 related metrics (more than one chunk of DEV_CAPACITY), gaps, a fault from row 7000. */
function rows(): Float64Array {
  const d = 5
  const out = new Float64Array(9000 * d)
  for (let r = 0; r < 9000; r++) {
    const load = 1 + 0.2 * Math.sin(r / 90) + ((r * 7919) % 101) / 5000
    for (let m = 0; m < d; m++) out[r * d + m] = (m + 1) * 10 * load + ((r * (m + 3)) % 7) / 20
    if (r >= 7000) out[r * d + 3] = out[r * d + 3]! * 2
    if (r % 211 === 0) out[r * d + (r % d)] = Number.NaN
  }
  return out
}

function runAll(kernel: Kernel, data: Float64Array, splits: number[]): StateResult[] {
  const params = encodeStateParams({ ...DEFAULT_PARAMS.state, baseline: 3000 })
  const out: StateResult[] = []
  let state: Uint8Array | undefined
  let from = 0
  for (const to of [...splits, data.length / 5]) {
    const r = kernel.runState!(state, data.subarray(from * 5, to * 5), 5, params)
    out.push(r)
    state = r.state
    from = to
  }
  return out
}

describe('kernel component: run-state', () => {
  it('gives bit-identical scores, verdicts and states to the Wasm kernel, across snapshots', () => {
    const data = rows()
    const splits = [1, 1499, 3000, 5000]
    const a = runAll(node, data, splits)
    const b = runAll(component, data, splits)
    expect(b.map((r) => Array.from(r.scores))).toEqual(a.map((r) => Array.from(r.scores)))
    expect(b.map((r) => Array.from(r.verdicts))).toEqual(a.map((r) => Array.from(r.verdicts)))
    expect(b.map((r) => Array.from(r.state))).toEqual(a.map((r) => Array.from(r.state)))
    expect(a.at(-1)!.verdicts.some((v) => v & 1)).toBe(true)
  })

  it('refuses what the Wasm host refuses, with the same errors', () => {
    const params = encodeStateParams(DEFAULT_PARAMS.state)
    const bad = new Uint8Array(24)
    expect(() => component.runState!(bad, new Float64Array(4), 2, params)).toThrow(KernelStateError)
    expect(() => component.runState!(undefined, new Float64Array(5), 2, params)).toThrow(RangeError)
    expect(() => component.runState!(undefined, new Float64Array(4), 2, new Float64Array(3))).toThrow(
      RangeError,
    )
  })
})
