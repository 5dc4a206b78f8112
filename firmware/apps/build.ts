// Builds the device apps (firmware/apps/examples) and the agent's test fixtures (firmware/apps/fixtures) from
// AssemblyScript into firmware/apps/build/<name>.wasm, with asc in this process (no network).
//   npm run build:apps          (tsx firmware/apps/build.ts)
// First it generates edge-detect's parameters from the server's defaults, so the two never drift. Every app
// meant to keep the ABI is checked against it after compiling; any error fails the build.
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { threadId } from 'node:worker_threads'
import { DEFAULT_PARAMS, encodeParams } from '../../kernels/host/params.js'
import * as L from '../../kernels/layout.js'
import { type AppValidation, validateApp } from './wasm/validate.js'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
export const BUILD_DIR = join(here, 'build')
/** Where build.ts writes AssemblyScript it generates (edge-detect's parameters). */
const GENERATED_DIR = join(BUILD_DIR, 'assembly')

export interface AppSpec {
  name: string
  /** The AssemblyScript entry file, relative to firmware/apps. */
  entry: string
  /** Whether the app keeps the ABI (checked after compiling); the misbehaving fixtures do not. */
  abi: boolean
  /** Extra asc options. */
  options?: string[]
  /** Leave out --importMemory (the module defines its own memory). */
  ownMemory?: boolean
  /** Leave out --zeroFilledMemory (keep zero data segments in the module). */
  keepZeroData?: boolean
}

/**
 * Pages the kernel's fixed regions need when it runs one sample at a time: up to its window output
 * (WINDOW_PTR, 27 pages in) with the most windows one sample can close. edge-detect asks for them in its
 * memory import, so a release of it needs memoryPages of at least this (28).
 */
export const EDGE_DETECT_PAGES = Math.ceil((L.WINDOW_PTR + L.BUCKETS_MAX * L.W_FIELDS * 8) / 65536)

export const APPS: readonly AppSpec[] = [
  { name: 'report-on-change', entry: 'examples/report-on-change/assembly/index.ts', abi: true },
  {
    name: 'edge-detect',
    entry: 'examples/edge-detect/assembly/index.ts',
    abi: true,
    options: ['--initialMemory', String(EDGE_DETECT_PAGES)],
  },
  { name: 'well-behaved', entry: 'fixtures/assembly/well-behaved.ts', abi: true },
  { name: 'slow', entry: 'fixtures/assembly/slow.ts', abi: true },
  { name: 'endless-loop', entry: 'fixtures/assembly/endless-loop.ts', abi: true },
  { name: 'memory-hog', entry: 'fixtures/assembly/memory-hog.ts', abi: true },
  { name: 'trap', entry: 'fixtures/assembly/trap.ts', abi: true },
  { name: 'huge', entry: 'fixtures/assembly/huge.ts', abi: true, keepZeroData: true },
  { name: 'forbidden-import', entry: 'fixtures/assembly/forbidden-import.ts', abi: false },
  { name: 'own-memory', entry: 'fixtures/assembly/own-memory.ts', abi: false, ownMemory: true },
  { name: 'no-tick', entry: 'fixtures/assembly/no-tick.ts', abi: false },
  // Not a fixture for the agent: exercises the SDK in sdk.test.ts.
  { name: 'sdk-probe', entry: 'sdk/testing/assembly/probe.ts', abi: true },
]

export function appPath(name: string): string {
  return join(BUILD_DIR, `${name}.wasm`)
}

export interface BuiltApp {
  name: string
  path: string
  bytes: number
}

/**
 * The server's ABI check (wasm/validate.ts) of a built app, without a release's limits: any size (the huge
 * fixture is over DEFAULT_MAX_APP_BYTES on purpose) and any memory the format allows (65536 pages). A
 * release's own limits are checked when it is made, not here.
 */
export function checkAbi(binary: Uint8Array): AppValidation {
  return validateApp(binary, { maxBytes: Number.MAX_SAFE_INTEGER, memoryPages: 65536 })
}

/** Generates edge-detect's parameters and compiles every app; throws on the first compile or ABI error. */
export async function buildApps(log: (line: string) => void = () => {}): Promise<BuiltApp[]> {
  mkdirSync(GENERATED_DIR, { recursive: true })
  writeAtomically(join(GENERATED_DIR, 'detector-params.ts'), detectorParamsSource())
  const built: BuiltApp[] = []
  for (const spec of APPS) {
    const binary = await compileApp(spec)
    if (spec.abi) {
      const check = checkAbi(binary)
      if (!check.ok) throw new Error(`${spec.name} breaks the app ABI: ${check.reason}`)
    }
    const path = appPath(spec.name)
    writeAtomically(path, binary)
    built.push({ name: spec.name, path, bytes: binary.length })
    log(`${spec.name.padEnd(18)} ${String(binary.length).padStart(7)} B  ${relative(root, path)}`)
  }
  return built
}

/** Builds the apps unless every one is newer than every source it is made from (for tests). */
export async function ensureApps(): Promise<void> {
  if (!appsUpToDate()) await buildApps()
}

export function appsUpToDate(): boolean {
  let oldest = Number.POSITIVE_INFINITY
  for (const spec of APPS) {
    try {
      oldest = Math.min(oldest, statSync(appPath(spec.name)).mtimeMs)
    } catch {
      return false
    }
  }
  const sources = [
    fileURLToPath(import.meta.url),
    join(root, 'kernels', 'layout.ts'),
    join(root, 'kernels', 'host', 'params.ts'),
    join(root, 'kernels', 'host', 'defaults.ts'),
    ...filesUnder(join(root, 'kernels', 'assembly')),
    ...filesUnder(join(here, 'sdk', 'assembly')),
    ...filesUnder(join(here, 'sdk', 'testing')),
    ...filesUnder(join(here, 'examples')),
    ...filesUnder(join(here, 'fixtures')),
  ]
  return sources.every((file) => statSync(file).mtimeMs <= oldest)
}

async function compileApp(spec: AppSpec): Promise<Uint8Array> {
  // Loaded here, not at the top: loading the compiler takes seconds, and ensureApps often needs none.
  const { default: asc } = await import('assemblyscript/asc')
  let binary: Uint8Array | undefined
  let output = ''
  const sink = {
    write(s: string) {
      output += s
      return true
    },
  }
  const args = [
    join(here, spec.entry),
    '--outFile',
    `${spec.name}.wasm`,
    '--runtime',
    'stub',
    '--optimizeLevel',
    '3',
    '--shrinkLevel',
    '0',
    '--noExportMemory',
    // The stub runtime's heap pointer is set in a start function: exported, the host calls it first.
    '--exportStart',
    '_initialize',
    ...(spec.ownMemory ? [] : ['--importMemory']),
    // A fresh WebAssembly.Memory is zeroed, so zero data segments need not be in the module.
    ...(spec.ownMemory || spec.keepZeroData ? [] : ['--zeroFilledMemory']),
    ...(spec.options ?? []),
  ]
  if (spec.ownMemory) args.splice(args.indexOf('--noExportMemory'), 1)
  const { error } = await asc.main(args, {
    writeFile: (name: string, contents: Uint8Array | string) => {
      if (name.endsWith('.wasm') && typeof contents !== 'string') binary = contents
    },
    stdout: sink as never,
    stderr: sink as never,
  })
  if (error || !binary) {
    throw new Error(
      `asc failed to compile ${spec.name} (${spec.entry}): ${error?.message ?? 'no output'}\n${output}`,
    )
  }
  return binary
}

/**
 * The AssemblyScript that writes encodeParams(DEFAULT_PARAMS) into the kernel's params block, bit for bit:
 * each f64 as its two 32-bit halves (little-endian), exact in any language.
 */
export function detectorParamsSource(): string {
  const params = encodeParams(DEFAULT_PARAMS)
  const words = new Uint32Array(params.buffer, params.byteOffset, params.length * 2)
  const slotNames = new Map<number, string>()
  for (const [name, value] of Object.entries(L)) {
    if (name.startsWith('P_') && typeof value === 'number') slotNames.set(value, name)
  }
  const hex = (word: number) => `0x${word.toString(16).padStart(8, '0')}`
  const stores = Array.from(params, (value, slot) => [
    `  // ${slotNames.get(slot) ?? 'unused'}: ${value}`,
    `  store<u32>(PARAMS_PTR, ${hex(words[2 * slot]!)}, ${slot * 8})`,
    `  store<u32>(PARAMS_PTR, ${hex(words[2 * slot + 1]!)}, ${slot * 8 + 4})`,
  ]).flat()
  return [
    '// Generated by firmware/apps/build.ts from encodeParams(DEFAULT_PARAMS) of kernels/host/params.ts: do not edit.',
    "// The server's default detector parameters, each slot written as the bits of its f64, so that edge-detect",
    "// runs on exactly the server's numbers.",
    "import { PARAMS_PTR } from '../../../../kernels/layout'",
    '',
    '/** Window buckets per window (window.ms / window.slideMs). */',
    `export const WINDOW_BUCKETS = ${params[L.P_WINDOW_BUCKETS]}`,
    '',
    "/** Writes the kernel's params block at PARAMS_PTR. */",
    'export function writeDefaultParams(): void {',
    ...stores,
    '}',
    '',
  ].join('\n')
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
}

/** Writes through a temporary file and a rename, so a concurrent build or reader never sees half a file. */
function writeAtomically(path: string, contents: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}-${threadId}.tmp`
  writeFileSync(tmp, contents)
  renameSync(tmp, path)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await buildApps((line) => console.log(line))
  } catch (e) {
    console.error(e instanceof Error ? e.message : e)
    process.exit(1)
  }
  console.log(`apps built in ${(performance.now() / 1000).toFixed(1)} s`)
}
