// Builds the kernels and the compiled CLI once before any test file runs, so that tests never race
// to build them and the integration tests run exactly what `npm start` runs.
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { buildKernels, projectRoot } from '../kernels/node.js'

export default function setup(): void {
  buildKernels()
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: projectRoot(), stdio: 'inherit' })
}
