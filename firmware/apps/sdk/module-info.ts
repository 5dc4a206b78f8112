// What build.ts and the test host need to know about a compiled app, read from its bytes: its imports (with
// the memory's limits), its exports, whether it has a start section or its own memory, and where its
// data ends. A few sections of the binary format only; firmware/apps/wasm/ is the full parser and validator.

export interface ImportInfo {
  module: string
  name: string
  kind: 'func' | 'table' | 'memory' | 'global' | 'tag'
  /** A memory import's declared limits, in pages. */
  memory?: { min: number; max: number | null }
}

export interface ModuleInfo {
  imports: ImportInfo[]
  /** Export names with their kinds. */
  exports: { name: string; kind: ImportInfo['kind'] }[]
  hasStart: boolean
  definesMemory: boolean
  /** The end of the highest active data segment with a constant offset, bytes (0 with none). */
  dataEnd: number
}

const KINDS = ['func', 'table', 'memory', 'global', 'tag'] as const

/** The imports an ABI v1 app may have (each optional but the memory), as "module.name". */
export const ABI_IMPORTS: ReadonlySet<string> = new Set([
  'env.memory',
  'env.abort',
  'edgewatch.now_ms',
  'edgewatch.sensor_count',
  'edgewatch.sensor_read',
  'edgewatch.sensor_name',
  'edgewatch.emit',
  'edgewatch.log',
])

/** The exports the host calls: tick (required), init, and _initialize (asc --exportStart). */
export const ABI_EXPORTS: ReadonlySet<string> = new Set(['tick', 'init', '_initialize'])

export function inspectModule(bytes: Uint8Array): ModuleInfo {
  const r = new Reader(bytes)
  if (r.u32le() !== 0x6d736100 || r.u32le() !== 1) throw new Error('not a Wasm module (magic or version)')
  const info: ModuleInfo = { imports: [], exports: [], hasStart: false, definesMemory: false, dataEnd: 0 }
  while (!r.done()) {
    const id = r.byte()
    const size = r.leb()
    const end = r.at + size
    if (id === 2) {
      for (let n = r.leb(); n > 0; n--) {
        const module = r.name()
        const name = r.name()
        const kind = KINDS[r.byte()] ?? 'tag'
        const imp: ImportInfo = { module, name, kind }
        if (kind === 'func' || kind === 'tag') {
          if (kind === 'tag') r.byte()
          r.leb()
        } else if (kind === 'table') {
          r.byte()
          r.limits()
        } else if (kind === 'memory') {
          imp.memory = r.limits()
        } else {
          r.byte()
          r.byte()
        }
        info.imports.push(imp)
      }
    } else if (id === 5) {
      info.definesMemory = r.leb() > 0
    } else if (id === 7) {
      for (let n = r.leb(); n > 0; n--) {
        const name = r.name()
        const kind = KINDS[r.byte()] ?? 'tag'
        r.leb()
        info.exports.push({ name, kind })
      }
    } else if (id === 8) {
      info.hasStart = true
    } else if (id === 11) {
      for (let n = r.leb(); n > 0; n--) {
        const flags = r.leb()
        let offset = Number.NaN
        if (flags !== 1) {
          if (flags === 2) r.leb()
          // An i32.const offset (all asc emits) or a global.get (offset unknown), then end.
          const op = r.byte()
          if (op === 0x41) offset = r.sleb()
          else if (op === 0x23) r.leb()
          else throw new Error(`unsupported data segment offset (opcode 0x${op.toString(16)})`)
          if (r.byte() !== 0x0b) throw new Error('unsupported data segment offset expression')
        }
        const len = r.leb()
        r.at += len
        if (Number.isFinite(offset)) info.dataEnd = Math.max(info.dataEnd, offset + len)
      }
    }
    r.at = end
  }
  return info
}

/** How the module breaks the ABI v1 (imports, memory, start, exports); empty when it does not. */
export function abiProblems(info: ModuleInfo): string[] {
  const problems: string[] = []
  for (const imp of info.imports) {
    const name = `${imp.module}.${imp.name}`
    if (!ABI_IMPORTS.has(name)) problems.push(`imports ${name}, which the ABI does not provide`)
    else if ((name === 'env.memory') !== (imp.kind === 'memory'))
      problems.push(`imports ${name} as a ${imp.kind}`)
  }
  if (!info.imports.some((i) => i.module === 'env' && i.name === 'memory'))
    problems.push('does not import env.memory (asc --importMemory)')
  if (info.definesMemory) problems.push('defines its own memory')
  if (info.hasStart) problems.push('has a start section (asc --exportStart _initialize)')
  if (!info.exports.some((e) => e.name === 'tick' && e.kind === 'func')) problems.push('does not export tick')
  for (const e of info.exports) {
    if (!ABI_EXPORTS.has(e.name)) problems.push(`exports ${e.name}, which the host never calls`)
  }
  return problems
}

class Reader {
  at = 0
  constructor(private readonly bytes: Uint8Array) {}

  done(): boolean {
    return this.at >= this.bytes.length
  }

  byte(): number {
    if (this.at >= this.bytes.length) throw new Error('unexpected end of module')
    return this.bytes[this.at++]!
  }

  u32le(): number {
    return (this.byte() | (this.byte() << 8) | (this.byte() << 16) | (this.byte() << 24)) >>> 0
  }

  leb(): number {
    let value = 0
    let scale = 1
    for (;;) {
      const b = this.byte()
      value += (b & 0x7f) * scale
      if (!(b & 0x80)) return value
      scale *= 128
    }
  }

  sleb(): number {
    let value = 0
    let scale = 1
    for (;;) {
      const b = this.byte()
      value += (b & 0x7f) * scale
      scale *= 128
      if (!(b & 0x80)) return b & 0x40 ? value - scale : value
    }
  }

  name(): string {
    const len = this.leb()
    const text = new TextDecoder().decode(this.bytes.subarray(this.at, this.at + len))
    this.at += len
    return text
  }

  limits(): { min: number; max: number | null } {
    const flags = this.leb()
    const min = this.leb()
    return { min, max: flags & 1 ? this.leb() : null }
  }
}
