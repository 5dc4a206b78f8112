// NAB for bench:quality: the corpus through bench/nab's own runner and scorer with the DEFAULT
// analysis configuration, as bench:nab runs it: the defaults are what is measured. The whole-corpus figure (threshold per profile chosen on all files) and the
// 2-fold figure (chosen on alternate halves, scored on the others) side by side.
import type { Kernel } from '../../kernels/host/kernel.js'
import { dataFilePaths } from '../nab/corpus.js'
import { prepareOutputs, scoreDetector } from '../nab/evaluate.js'
import { twoFold } from '../nab/folds.js'
import { runEdgewatch } from '../nab/own.js'
import { nabPaths } from '../nab/paths.js'
import { loadProfiles } from '../nab/profiles.js'
import { loadWindows } from '../nab/windows.js'

export interface NabResult {
  config: 'defaults'
  files: number
  /** Normalised score per profile, whole corpus. */
  whole: Record<string, number>
  /** Mean of the two folds per profile. */
  twoFold: Record<string, number>
}

export function nabDefaults(kernel: Kernel, root?: string): NabResult {
  const paths = nabPaths(root)
  const windows = loadWindows(paths.windows)
  const profiles = loadProfiles(paths.profiles)
  // undefined: resolveAnalysisConfig's defaults, as `edgewatch detect` with no EDGEWATCH_CONFIG
  const outputs = runEdgewatch(kernel, undefined, dataFilePaths(paths.data, windows))
  const files = prepareOutputs(outputs, windows)
  const result = scoreDetector('edgewatch', files, profiles)
  const folds = twoFold(files, profiles)
  return {
    config: 'defaults',
    files: result.files,
    whole: Object.fromEntries(result.profiles.map((p) => [p.profile, p.normalised])),
    twoFold: folds.mean,
  }
}
