// Where the NAB data set lives: `../shared/datasets/nab` beside the project root, unless told otherwise.

import { join, resolve } from 'node:path'
import { projectRoot } from '../../kernels/node.js'

export interface NabPaths {
  root: string
  windows: string
  profiles: string
  data: string
  results: string
  finalResults: string
}

export function defaultNabRoot(): string {
  return resolve(projectRoot(), '..', 'shared', 'datasets', 'nab')
}

export function nabPaths(root = defaultNabRoot()): NabPaths {
  return {
    root,
    windows: join(root, 'labels', 'combined_windows.json'),
    profiles: join(root, 'config', 'profiles.json'),
    data: join(root, 'data'),
    results: join(root, 'results'),
    finalResults: join(root, 'results', 'final_results.json'),
  }
}
