// The Kernel over the kernel component's `edgewatch:kernel/detect.run`: the same checks and the same
// errors as the Wasm host of kernels/host/kernel.ts, then one call across the component boundary.
// The component itself copies the lists into the kernel's fixed regions and runs it in chunks.
import { checkSnapshot, type Kernel, type SeriesResult } from '../../kernels/host/kernel.js'
import { checkStateRun, expandState, type StateResult, shrinkState } from '../../kernels/host/state.js'
import * as L from '../../kernels/layout.js'

/** `edgewatch:kernel/detect.run` as jco and componentize-js present it. */
export type DetectRun = (
  state: Uint8Array,
  ts: Float64Array,
  values: Float64Array,
  params: Float64Array,
) => [Uint8Array, Float64Array, Uint8Array, Float64Array]

/** `edgewatch:kernel/detect.run-state`, likewise. */
export type DetectRunState = (
  state: Uint8Array,
  rows: Float64Array,
  width: number,
  params: Float64Array,
) => [Uint8Array, Float64Array, Uint32Array]

const FRESH = new Uint8Array(0)

export function componentKernel(run: DetectRun, runState?: DetectRunState): Kernel {
  const kernel: Kernel = {
    run(state, ts, values, params): SeriesResult {
      if (values.length !== ts.length) throw new RangeError('ts and values must have the same length')
      if (params.length !== L.PARAM_COUNT) throw new RangeError(`params must have ${L.PARAM_COUNT} slots`)
      if (state) checkSnapshot(state)
      const [next, scores, flags, windows] = run(state ?? FRESH, ts, values, params)
      return { scores, flags, windows, state: next }
    },
  }
  if (runState)
    kernel.runState = (state, rows, d, params): StateResult => {
      checkStateRun(state, rows, d, params)
      // The component takes and gives the kernel's whole block; the store keeps the d metrics' part.
      const [next, scores, verdicts] = runState(state ? expandState(state) : FRESH, rows, d, params)
      return { scores, verdicts, state: shrinkState(next, d) }
    }
  return kernel
}
