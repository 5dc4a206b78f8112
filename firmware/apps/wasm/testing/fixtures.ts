// Compiles the AssemblyScript fixtures (fixtures/*.as: not .ts, so that tsc and biome leave them
// alone) with the project's asc, in process, the way an app is built:
// asc app.ts --importMemory --runtime stub --exportStart _initialize -O3.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import asc from 'assemblyscript/asc'
import type { Bytes } from './assemble.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures')

export interface BuildOptions {
  /** Imports env.memory (default true). */
  importMemory?: boolean
  /** Exports the start function as _initialize instead of a start section (default true). */
  exportStart?: boolean
  /** 0 for a debug build, 3 for a release build (default 3). */
  optimizeLevel?: number
  /** Extra features, such as ['simd']. */
  enable?: readonly string[]
}

const cache = new Map<string, Bytes>()

/** The module compiled from fixtures/<name>.as. */
export async function buildFixture(name: string, options: BuildOptions = {}): Promise<Bytes> {
  const key = name + JSON.stringify(options)
  const cached = cache.get(key)
  if (cached) return cached
  const source = readFileSync(join(FIXTURES, `${name}.as`), 'utf8')
  const result = await asc.compileString(
    { [`${name}.ts`]: source },
    {
      importMemory: options.importMemory ?? true,
      runtime: 'stub',
      optimizeLevel: options.optimizeLevel ?? 3,
      shrinkLevel: 0,
      ...(options.exportStart === false ? {} : { exportStart: '_initialize' }),
      ...(options.enable ? { enable: [...options.enable] } : {}),
    },
  )
  if (result.error || !result.binary)
    throw new Error(`asc failed on ${name}.as: ${result.error?.message}\n${result.stderr.toString()}`)
  const bytes = new Uint8Array(result.binary)
  cache.set(key, bytes)
  return bytes
}
