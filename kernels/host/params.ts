// Detector parameters: their defaults, their validation, and their encoding for the kernel.
import { z } from 'zod'
import * as L from '../layout.js'

const positive = z.number().positive()
const fraction = z.number().gt(0).lte(1)
const count = z.number().int().min(0).max(1e9)

export const detectorParamsSchema = z
  .object({
    outlier: z.object({ alpha: fraction, z: positive, warmup: count }).strict(),
    spike: z.object({ alpha: fraction, k: positive, warmup: count }).strict(),
    drift: z.object({ alpha: fraction, k: z.number().min(0), h: positive, warmup: count }).strict(),
    stuck: z.object({ n: z.number().int().min(2).max(1e9), minRate: fraction, alpha: fraction }).strict(),
    novelty: z.object({ tol: positive, warmup: count, decay: z.number().min(0).lte(1) }).strict(),
    context: z
      .object({
        levels: z.number().int().min(2).max(64),
        lags: z.number().int().min(1).max(L.CONTEXT_LAGS_MAX),
        hours: z.number().int().min(0).max(96),
        weight: z.number().min(0).max(100),
        warmup: count,
      })
      .strict(),
    shape: z
      .object({
        block: z.number().int().min(1).max(1e6),
        vigilance: fraction,
        alarm: fraction,
        warmup: count,
        mask: count,
        categories: z.number().int().min(1).max(L.SHAPE_CATEGORIES_MAX),
      })
      .strict(),
    refractory: z.object({ samples: count, rank: z.number().min(0).max(1) }).strict(),
    threshold: z.object({ lo: z.number().nullable(), hi: z.number().nullable() }).strict(),
    state: z
      .object({
        baseline: z.number().int().min(2).max(1e9),
        margin: positive,
        ridge: positive,
        floor: z.number().min(0).max(1),
        adapt: z.number().min(0).lt(1),
      })
      .strict(),
    window: z.object({ ms: positive, slideMs: positive }).strict(),
    enabled: z
      .object({
        threshold: z.boolean(),
        outlier: z.boolean(),
        spike: z.boolean(),
        drift: z.boolean(),
        stuck: z.boolean(),
        novelty: z.boolean(),
        context: z.boolean(),
        shape: z.boolean(),
        window: z.boolean(),
        state: z.boolean(),
      })
      .strict(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const k = p.window.ms / p.window.slideMs
    if (!Number.isInteger(k) || k < 1 || k > L.BUCKETS_MAX) {
      ctx.addIssue({
        code: 'custom',
        path: ['window'],
        message: `window.ms must be 1 to ${L.BUCKETS_MAX} times window.slideMs`,
      })
    }
    const c = p.context
    if (c.levels * c.levels * c.lags + c.hours * c.levels > L.CONTEXT_BITS) {
      ctx.addIssue({
        code: 'custom',
        path: ['context'],
        message: `context.levels² × context.lags + context.hours × context.levels must be at most ${L.CONTEXT_BITS}`,
      })
    }
  })

export type DetectorParams = z.infer<typeof detectorParamsSchema>

/** Deep partial of the params, as a fleet or device configuration gives them. */
export type DetectorParamsPatch = { [K in keyof DetectorParams]?: Partial<DetectorParams[K]> }

export { DEFAULT_PARAMS } from './defaults.js'

/** Applies a patch over base params and validates the result (throws a ZodError when invalid). */
export function mergeParams(base: DetectorParams, patch: DetectorParamsPatch | undefined): DetectorParams {
  if (!patch) return base
  const merged: Record<string, unknown> = {}
  for (const key of Object.keys(base) as (keyof DetectorParams)[]) {
    merged[key] = { ...base[key], ...(patch[key] ?? {}) }
  }
  return detectorParamsSchema.parse(merged)
}

/** The state detector's params packed as its own params block. */
export function encodeStateParams(p: DetectorParams['state']): Float64Array {
  const out = new Float64Array(L.STATE_PARAM_COUNT)
  out[L.SP_BASELINE] = p.baseline
  out[L.SP_MARGIN] = p.margin
  out[L.SP_RIDGE] = p.ridge
  out[L.SP_FLOOR] = p.floor
  out[L.SP_ADAPT] = p.adapt
  return out
}

/** Params packed as the kernel's params block. */
export function encodeParams(p: DetectorParams): Float64Array {
  const out = new Float64Array(L.PARAM_COUNT)
  out[L.P_OUTLIER_ALPHA] = p.outlier.alpha
  out[L.P_OUTLIER_Z] = p.outlier.z
  out[L.P_OUTLIER_WARMUP] = p.outlier.warmup
  out[L.P_SPIKE_ALPHA] = p.spike.alpha
  out[L.P_SPIKE_K] = p.spike.k
  out[L.P_SPIKE_WARMUP] = p.spike.warmup
  out[L.P_DRIFT_ALPHA] = p.drift.alpha
  out[L.P_DRIFT_K] = p.drift.k
  out[L.P_DRIFT_H] = p.drift.h
  out[L.P_DRIFT_WARMUP] = p.drift.warmup
  out[L.P_STUCK_N] = p.stuck.n
  out[L.P_STUCK_MIN_RATE] = p.stuck.minRate
  out[L.P_STUCK_ALPHA] = p.stuck.alpha
  out[L.P_NOVELTY_TOL] = p.novelty.tol
  out[L.P_NOVELTY_WARMUP] = p.novelty.warmup
  out[L.P_NOVELTY_DECAY] = p.novelty.decay
  out[L.P_CONTEXT_LEVELS] = p.context.levels
  out[L.P_CONTEXT_LAGS] = p.context.lags
  out[L.P_CONTEXT_HOURS] = p.context.hours
  out[L.P_CONTEXT_WEIGHT] = p.context.weight
  out[L.P_CONTEXT_WARMUP] = p.context.warmup
  out[L.P_SHAPE_BLOCK] = p.shape.block
  out[L.P_SHAPE_VIGILANCE] = p.shape.vigilance
  out[L.P_SHAPE_ALARM] = p.shape.alarm
  out[L.P_SHAPE_WARMUP] = p.shape.warmup
  out[L.P_SHAPE_MASK] = p.shape.mask
  out[L.P_SHAPE_CATEGORIES] = p.shape.categories
  out[L.P_REFRACTORY_SAMPLES] = p.refractory.samples
  out[L.P_REFRACTORY_RANK] = p.refractory.rank
  out[L.P_THRESHOLD_LO] = p.threshold.lo ?? Number.NEGATIVE_INFINITY
  out[L.P_THRESHOLD_HI] = p.threshold.hi ?? Number.POSITIVE_INFINITY
  out[L.P_WINDOW_MS] = p.window.ms
  out[L.P_SLIDE_MS] = p.window.slideMs
  out[L.P_WINDOW_BUCKETS] = p.window.ms / p.window.slideMs
  const e = p.enabled
  out[L.P_ENABLED] =
    (e.threshold ? L.BIT_THRESHOLD : 0) |
    (e.outlier ? L.BIT_OUTLIER : 0) |
    (e.spike ? L.BIT_SPIKE : 0) |
    (e.drift ? L.BIT_DRIFT : 0) |
    (e.stuck ? L.BIT_STUCK : 0) |
    (e.novelty ? L.BIT_NOVELTY : 0) |
    (e.context ? L.BIT_CONTEXT : 0) |
    (e.shape ? L.BIT_SHAPE : 0) |
    (e.window ? L.BIT_WINDOW : 0)
  return out
}
