// Builds the kernel component (edgewatch:kernel, world `kernel`) from the AssemblyScript kernel:
// asc compiles assembly/index.ts (the canonical-ABI wrapper importing ../assembly), the exports get
// their canonical names, then wasm-tools (through jco) embeds the WIT and makes the component.
//   npx tsx kernels/component/build.ts [out.wasm]     (default dist/spin/kernel.wasm)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { componentEmbed, componentNew } from '@bytecodealliance/jco'
import asc from 'assemblyscript/asc'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..')
export const KERNEL_WIT = join(here, 'wit', 'kernel.wit')
export const DEFAULT_OUT = join(root, 'dist', 'spin', 'kernel.wasm')

const RENAMES: Record<string, string> = {
  run: 'edgewatch:kernel/detect#run',
  run_post: 'cabi_post_edgewatch:kernel/detect#run',
  run_state: 'edgewatch:kernel/detect#run-state',
  run_state_post: 'cabi_post_edgewatch:kernel/detect#run-state',
}

export interface KernelBuild {
  component: Uint8Array
  coreBytes: number
  ms: number
}

/** Compiles the wrapper with asc and returns the core module (no imports, no start function). */
async function compileCore(): Promise<Uint8Array> {
  let binary: Uint8Array | undefined
  let log = ''
  const sink = {
    write(s: string) {
      log += s
      return true
    },
  }
  const { error } = await asc.main(
    [
      join(here, 'assembly', 'index.ts'),
      '--outFile',
      'kernel.core.wasm',
      '--runtime',
      'stub',
      '-O3',
      '--converge',
      '--noAssert',
      '--initialMemory',
      '40',
      '--use',
      'abort=',
    ],
    {
      writeFile: (name: string, contents: Uint8Array | string) => {
        if (name.endsWith('.wasm') && typeof contents !== 'string') binary = contents
      },
      stdout: sink as never,
      stderr: sink as never,
    },
  )
  if (error || !binary) throw new Error(`asc failed: ${error?.message ?? 'no output'}\n${log}`)
  return binary
}

export async function buildKernelComponent(out: string | null = DEFAULT_OUT): Promise<KernelBuild> {
  const t0 = performance.now()
  const core = renameExports(await compileCore(), RENAMES)
  const witSource = readFileSync(KERNEL_WIT, 'utf8')
  // The jco CLI ignores `embed -n`; the API takes `world`.
  const embedded = await componentEmbed({ binary: core, witSource, world: 'kernel' } as never)
  const component = await componentNew(embedded, [])
  if (out) {
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, component)
  }
  return { component, coreBytes: core.length, ms: performance.now() - t0 }
}

// ---- a minimal export-section rewriter (wasm binary format, section 7) ----

function readU32(bytes: Uint8Array, at: number): [number, number] {
  let value = 0
  let shift = 0
  for (;;) {
    const b = bytes[at++]!
    value |= (b & 0x7f) << shift
    if (!(b & 0x80)) return [value >>> 0, at]
    shift += 7
  }
}

function writeU32(value: number, out: number[]): void {
  do {
    let b = value & 0x7f
    value >>>= 7
    if (value) b |= 0x80
    out.push(b)
  } while (value)
}

/** Renames exports; throws when one of `renames` is missing. */
export function renameExports(module: Uint8Array, renames: Record<string, string>): Uint8Array {
  const out: number[] = Array.from(module.subarray(0, 8))
  const seen = new Set<string>()
  let at = 8
  while (at < module.length) {
    const id = module[at]!
    const [size, start] = readU32(module, at + 1)
    const end = start + size
    if (id !== 7) {
      for (let i = at; i < end; i++) out.push(module[i]!)
    } else {
      const body: number[] = []
      let [count, p] = readU32(module, start)
      writeU32(count, body)
      while (count-- > 0) {
        const [len, nameAt] = readU32(module, p)
        const name = new TextDecoder().decode(module.subarray(nameAt, nameAt + len))
        p = nameAt + len
        const kind = module[p++]!
        const [index, next] = readU32(module, p)
        p = next
        const renamed = renames[name] ?? name
        if (renamed !== name) seen.add(name)
        const encoded = new TextEncoder().encode(renamed)
        writeU32(encoded.length, body)
        body.push(...encoded, kind)
        writeU32(index, body)
      }
      out.push(7)
      writeU32(body.length, out)
      out.push(...body)
    }
    at = end
  }
  const missing = Object.keys(renames).filter((n) => !seen.has(n))
  if (missing.length > 0) throw new Error(`the core module does not export ${missing.join(', ')}`)
  return Uint8Array.from(out)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? DEFAULT_OUT
  const { component, coreBytes, ms } = await buildKernelComponent(out)
  console.log(`kernel component ${out}: ${component.length} B (core ${coreBytes} B) in ${ms.toFixed(0)} ms`)
}
