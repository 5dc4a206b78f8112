// Scores verdict flags against a faulty stream's labels: recall per fault, false positives per
// clean sample.
import type { FaultKind, FaultyStream } from './streams.js'

/** A fault counts as detected when a sample in its span, or within this many after its start, is flagged. */
export const TOLERANCE = 5

export interface FaultCheck {
  faults: number
  detected: number
  byKind: Record<FaultKind, { faults: number; detected: number }>
  cleanSamples: number
  falsePositives: number
}

/** Checks `flags` (non-zero = flagged) of `stream`, ignoring the first `skip` samples (warm-up). */
export function checkFaults(stream: FaultyStream, flags: ArrayLike<number>, skip: number): FaultCheck {
  const byKind = {
    spike: { faults: 0, detected: 0 },
    drift: { faults: 0, detected: 0 },
    stuck: { faults: 0, detected: 0 },
    noise: { faults: 0, detected: 0 },
  }
  let detected = 0
  for (const f of stream.faults) {
    let hit = false
    for (let i = f.start; i < Math.max(f.end, f.start + TOLERANCE) && !hit; i++) hit = flags[i] !== 0
    byKind[f.kind].faults++
    if (hit) {
      byKind[f.kind].detected++
      detected++
    }
  }
  let cleanSamples = 0
  let falsePositives = 0
  for (let i = skip; i < stream.values.length; i++) {
    const f = stream.faults[stream.faultOf[i]!]
    if (f || inTolerance(stream, i)) continue
    cleanSamples++
    if (flags[i] !== 0) falsePositives++
  }
  return { faults: stream.faults.length, detected, byKind, cleanSamples, falsePositives }
}

/** A clean sample within TOLERANCE of a fault's start (after a one-sample spike). */
function inTolerance(stream: FaultyStream, i: number): boolean {
  return stream.faults.some((f) => i >= f.start && i < f.start + TOLERANCE)
}
