// The detectors' default parameters, apart from their validation (params.ts) so that a page can
// show them without loading the schema library.
import type { DetectorParams } from './params.js'

export const DEFAULT_PARAMS: DetectorParams = Object.freeze({
  outlier: { alpha: 0.05, z: 4, warmup: 30 },
  spike: { alpha: 0.1, k: 8, warmup: 20 },
  drift: { alpha: 0.01, k: 0.5, h: 12, warmup: 50 },
  stuck: { n: 20, minRate: 0.6, alpha: 0.05 },
  novelty: { tol: 0.02, warmup: 100, decay: 0.003 },
  context: { levels: 16, lags: 3, hours: 24, weight: 0.3, warmup: 100 },
  // Shape and refractory settings were chosen on one half of NAB's files (docs/nab.md).
  shape: { block: 16, vigilance: 0.93, alarm: 0.82, warmup: 800, mask: 600, categories: 32 },
  refractory: { samples: 10, rank: 0.18 },
  threshold: { lo: null, hi: null },
  // Per device, over its metrics together (kernels/assembly/state.ts); figures in the README.
  state: { baseline: 1000, margin: 4, ridge: 0.1, floor: 0.05, adapt: 0.003 },
  window: { ms: 60_000, slideMs: 10_000 },
  enabled: {
    threshold: true,
    outlier: true,
    spike: true,
    drift: true,
    stuck: true,
    novelty: true,
    // Context and shape are what lifts NAB from 59 to 70 (README, NAB); context costs the most of
    // the stack's throughput (README, Benchmarks).
    context: true,
    shape: true,
    window: true,
    state: true,
  },
})
