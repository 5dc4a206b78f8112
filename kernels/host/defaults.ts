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
  threshold: { lo: null, hi: null },
  window: { ms: 60_000, slideMs: 10_000 },
  enabled: {
    threshold: true,
    outlier: true,
    spike: true,
    drift: true,
    stuck: true,
    novelty: true,
    // Off by default: it costs about a third of the stack's throughput (see README, Benchmarks).
    context: false,
    window: true,
  },
})
