// What the analyser is configured with: rules and detector parameters for the fleet and per device.
import { z } from 'zod'
import {
  DEFAULT_PARAMS,
  type DetectorParams,
  type DetectorParamsPatch,
  detectorParamsSchema,
  mergeParams,
} from '../../kernels/host/params.js'
import { DEFAULT_RULES, type MetricRule, type RulesConfig } from './rules.js'
import { LEVELS } from './types.js'

const metricRule = z
  .object({
    kind: z.string().min(1).max(64),
    metric: z.string().min(1).max(64),
    above: z.number().optional(),
    below: z.number().optional(),
  })
  .strict()

const rulesPatch = z
  .object({ errorLevels: z.array(z.enum(LEVELS)).optional(), metrics: z.array(metricRule).optional() })
  .strict()
/**
 * Detector parameters, any subset: the detectors' own schemas made partial, strict at both levels,
 * so a misspelt detector (`outliar`) or parameter fails naming it instead of being ignored.
 */
const detectorsPatch = z
  .object(
    Object.fromEntries(
      Object.entries(detectorParamsSchema.shape).map(([name, schema]) => [name, schema.partial().optional()]),
    ) as z.ZodRawShape,
  )
  .strict()

/** The configuration file / variable: every part optional. */
export const analysisConfigSchema = z
  .object({
    rules: rulesPatch.optional(),
    detectors: detectorsPatch.optional(),
    devices: z
      .record(
        z.string().min(1).max(128),
        z.object({ rules: rulesPatch.optional(), detectors: detectorsPatch.optional() }).strict(),
      )
      .optional(),
  })
  .strict()

export type AnalysisConfigInput = z.infer<typeof analysisConfigSchema>

export interface DeviceAnalysis {
  rules: RulesConfig
  detectors: DetectorParams
}

export interface AnalysisConfig {
  fleet: DeviceAnalysis
  devices: Map<string, DeviceAnalysis>
}

/** Validates a configuration and resolves every device's effective rules and detector params. */
export function resolveAnalysisConfig(input: unknown): AnalysisConfig {
  const parsed = analysisConfigSchema.parse(input ?? {})
  const fleet: DeviceAnalysis = {
    rules: mergeRules(DEFAULT_RULES, parsed.rules),
    detectors: mergeParams(DEFAULT_PARAMS, parsed.detectors as DetectorParamsPatch | undefined),
  }
  const devices = new Map<string, DeviceAnalysis>()
  for (const [id, device] of Object.entries(parsed.devices ?? {})) {
    devices.set(id, {
      rules: mergeRules(fleet.rules, device.rules),
      detectors: mergeParams(fleet.detectors, device.detectors as DetectorParamsPatch | undefined),
    })
  }
  return { fleet, devices }
}

/**
 * The configuration with the state detector's baseline set to `rows` for the fleet and every device
 * (`edgewatch detect --baseline ROWS`). Throws a ZodError when rows is not a valid baseline.
 */
export function withStateBaseline(config: AnalysisConfig, rows: number): AnalysisConfig {
  const set = (a: DeviceAnalysis): DeviceAnalysis => ({
    rules: a.rules,
    detectors: mergeParams(a.detectors, { state: { baseline: rows } }),
  })
  const devices = new Map<string, DeviceAnalysis>()
  for (const [id, device] of config.devices) devices.set(id, set(device))
  return { fleet: set(config.fleet), devices }
}

/** Device rules override the fleet's rule of the same kind and add new kinds. */
function mergeRules(base: RulesConfig, patch: z.infer<typeof rulesPatch> | undefined): RulesConfig {
  if (!patch) return base
  const metrics: MetricRule[] = base.metrics.map(
    (rule) => patch.metrics?.find((p) => p.kind === rule.kind) ?? rule,
  )
  for (const rule of patch.metrics ?? []) if (!metrics.some((m) => m.kind === rule.kind)) metrics.push(rule)
  return { errorLevels: patch.errorLevels ?? base.errorLevels, metrics }
}
