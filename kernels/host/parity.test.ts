// Kernel parity: the same .wasm, through the same host API, gives bit-identical outputs on Node and
// on workerd (miniflare). The Spin component host gets the same check in kernels/component.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kernelPath, loadNodeKernel, projectRoot } from '../node.js'
import { kindsOf } from './kinds.js'
import { DEFAULT_PARAMS, encodeParams, mergeParams } from './params.js'

/** A worker that runs the kernel on the posted input and answers every output as bytes. */
const WORKER = `
import { loadKernel } from './kernels/host/kernel.ts'
import wasm from './edgewatch.wasm'
const kernel = loadKernel(wasm)
export default {
  async fetch(request) {
    const { ts, values, params, split } = await request.json()
    const k = await kernel
    const p = new Float64Array(Uint8Array.from(params).buffer) // bytes: JSON has no Infinity
    const first = k.run(undefined, Float64Array.from(ts.slice(0, split)), Float64Array.from(values.slice(0, split)), p)
    const second = k.run(first.state, Float64Array.from(ts.slice(split)), Float64Array.from(values.slice(split)), p)
    const bytes = (a) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    return Response.json([first, second].map((r) => ({ scores: bytes(r.scores), flags: bytes(r.flags), windows: bytes(r.windows), state: bytes(r.state) })))
  },
}`

let mf: Miniflare
beforeAll(async () => {
  const bundle = await build({
    stdin: { contents: WORKER, resolveDir: projectRoot(), loader: 'js' },
    bundle: true,
    format: 'esm',
    write: false,
    external: ['./edgewatch.wasm'],
  })
  mf = new Miniflare({
    modules: [
      { type: 'ESModule', path: join(projectRoot(), 'worker.mjs'), contents: bundle.outputFiles[0]!.text },
      {
        type: 'CompiledWasm',
        path: join(projectRoot(), 'edgewatch.wasm'),
        contents: readFileSync(kernelPath()),
      },
    ],
  })
}, 60_000)
afterAll(async () => {
  await mf?.dispose()
})

describe('kernel parity across hosts', () => {
  it('gives bit-identical scores, verdicts, windows and state on Node and workerd', async () => {
    const n = 5000
    const ts = Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i * 1500 + ((i * 37) % 11) * 100)
    const values = ts.map(
      (_, i) => Math.sin(i / 13) * 5 + ((i * 7919) % 97) / 50 + (i === 3000 ? 60 : 0) + (i > 4000 ? 3 : 0),
    )
    const params = encodeParams(mergeParams(DEFAULT_PARAMS, { threshold: { hi: 8 } }))
    const split = 2222
    const res = await mf.dispatchFetch('http://kernel/', {
      method: 'POST',
      body: JSON.stringify({ ts, values, params: Array.from(new Uint8Array(params.buffer)), split }),
    })
    const fromWorkerd = (await res.json()) as {
      scores: number[]
      flags: number[]
      windows: number[]
      state: number[]
    }[]

    const kernel = await loadNodeKernel()
    const first = kernel.run(
      undefined,
      Float64Array.from(ts.slice(0, split)),
      Float64Array.from(values.slice(0, split)),
      params,
    )
    const second = kernel.run(
      first.state,
      Float64Array.from(ts.slice(split)),
      Float64Array.from(values.slice(split)),
      params,
    )
    const bytes = (a: ArrayBufferView) => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    const fromNode = [first, second].map((r) => ({
      scores: bytes(r.scores),
      flags: bytes(r.flags),
      windows: bytes(r.windows),
      state: bytes(r.state),
    }))
    expect(fromWorkerd).toEqual(fromNode)
    expect(second.flags.some((f) => f !== 0)).toBe(true)
    // The shape network learnt before the split fires after it: its categories crossed the snapshot.
    expect(second.flags.some((f) => kindsOf(f).includes('shape'))).toBe(true)
  })
})
