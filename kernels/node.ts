// Node loader: finds kernels/build/edgewatch.wasm, building it with asc when it is missing.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Kernel, loadKernel } from './host/kernel.js'

/** The repository root: the nearest folder above this file that holds kernels/asconfig.json. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'kernels', 'asconfig.json'))) {
    const up = dirname(dir)
    if (up === dir)
      throw new Error('cannot find kernels/asconfig.json above ' + fileURLToPath(import.meta.url))
    dir = up
  }
  return dir
}

export function kernelPath(): string {
  return join(projectRoot(), 'kernels', 'build', 'edgewatch.wasm')
}

/** Compiles the AssemblyScript kernels (a few seconds). */
export function buildKernels(): void {
  const root = projectRoot()
  const asc = createRequire(join(root, 'package.json')).resolve('assemblyscript/bin/asc.js')
  // node:child_process is loaded only here: the server's start needs it only when the kernel is missing.
  const { execFileSync } = createRequire(import.meta.url)(
    'node:child_process',
  ) as typeof import('node:child_process')
  execFileSync(process.execPath, [asc, '--config', join(root, 'kernels', 'asconfig.json')], {
    stdio: 'inherit',
  })
}

export async function loadNodeKernel(): Promise<Kernel> {
  const path = kernelPath()
  if (!existsSync(path)) buildKernels()
  return loadKernel(readFileSync(path))
}
