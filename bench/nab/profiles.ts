// Scoring profiles (config/profiles.json): each a cost matrix weighing true positives, false
// positives and false negatives. tnWeight is part of the format but NAB's score does not use it.

import { NabInputError } from './errors.js'
import { readJson } from './read-text.js'

export interface CostMatrix {
  tpWeight: number
  fpWeight: number
  fnWeight: number
  tnWeight: number
}

export interface Profile extends CostMatrix {
  name: string
}

/** The three published profiles, in the order NAB reports them. */
export const PROFILE_NAMES = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const

export function profilesFromJson(json: unknown, source = 'profiles'): Profile[] {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new NabInputError(`${source}: expected an object of profiles`)
  }
  return Object.entries(json).map(([name, body]) => {
    const matrix = (body as { CostMatrix?: Record<string, unknown> } | null)?.CostMatrix
    const weight = (key: keyof CostMatrix): number => {
      const v = matrix?.[key]
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new NabInputError(`${source}: profile ${name} has no numeric CostMatrix.${key}`)
      }
      return v
    }
    return {
      name,
      tpWeight: weight('tpWeight'),
      fpWeight: weight('fpWeight'),
      fnWeight: weight('fnWeight'),
      tnWeight: weight('tnWeight'),
    }
  })
}

export function loadProfiles(path: string): Profile[] {
  return profilesFromJson(readJson(path, 'profiles file'), path)
}
