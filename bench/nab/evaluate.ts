// The scorer's front door: prepare a detector's outputs, then score any subset of files, either at a
// given threshold or at the threshold that is best on that subset, normalised against the subset's
// own null and perfect detectors.

import { NabInputError } from './errors.js'
import { bounds, normalise } from './normalise.js'
import { ThresholdSweep } from './optimise.js'
import { type DetectorOutput, type PreparedFile, type PrepareOptions, prepareFile } from './prepare.js'
import type { Profile } from './profiles.js'
import { type FilesScore, scoreFiles } from './score-file.js'
import type { WindowsByFile } from './windows.js'

export interface ProfileScore {
  profile: string
  threshold: number
  raw: number
  nullRaw: number
  perfectRaw: number
  /** 100 * (raw - nullRaw) / (perfectRaw - nullRaw). */
  normalised: number
  detail: FilesScore
}

export interface DetectorScore {
  detector: string
  files: number
  windows: number
  profiles: ProfileScore[]
}

/** Prepares every file's output; each file must be named in `windows`. */
export function prepareOutputs(
  outputs: ReadonlyMap<string, DetectorOutput>,
  windows: WindowsByFile,
  options: PrepareOptions = {},
): PreparedFile[] {
  const prepared: PreparedFile[] = []
  for (const [name, output] of outputs) {
    const fileWindows = windows.get(name)
    if (!fileWindows)
      throw new NabInputError(`unknown data file ${name}: it has no entry in the windows file`)
    prepared.push(prepareFile(name, output, fileWindows, options))
  }
  return prepared
}

/** Scores `files` at a fixed threshold (e.g. one chosen on other files). */
export function scoreAtThreshold(
  files: readonly PreparedFile[],
  profile: Profile,
  threshold: number,
): ProfileScore {
  const detail = scoreFiles(files, threshold, profile)
  const { nullRaw, perfectRaw } = bounds(detail.windows, profile)
  return {
    profile: profile.name,
    threshold,
    raw: detail.raw,
    nullRaw,
    perfectRaw,
    normalised: normalise(detail.raw, detail.windows, profile),
    detail,
  }
}

/** Chooses the best threshold on `files` and scores them at it. Pass a sweep to reuse its sort. */
export function scoreOptimised(
  files: readonly PreparedFile[],
  profile: Profile,
  sweep: ThresholdSweep = new ThresholdSweep(files),
): ProfileScore {
  return scoreAtThreshold(files, profile, sweep.best(profile).threshold)
}

/** NAB's benchmark for one detector: per profile, the best threshold over all files and its score. */
export function scoreDetector(
  detector: string,
  files: readonly PreparedFile[],
  profiles: readonly Profile[],
): DetectorScore {
  const sweep = new ThresholdSweep(files)
  return {
    detector,
    files: files.length,
    windows: sweep.windowCount,
    profiles: profiles.map((p) => scoreOptimised(files, p, sweep)),
  }
}
