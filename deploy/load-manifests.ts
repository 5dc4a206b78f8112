// Reads spin.toml, deploy/runtime-config.toml and every YAML document under deploy/ into plain data,
// so that deploy/manifest-checks.ts can compare them. `overrides` replaces a file's text (tests use it
// to check that a broken manifest is caught).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseToml } from 'smol-toml'
import { parseAllDocuments } from 'yaml'

export type Doc = Record<string, unknown>

/** One YAML document of a file under deploy/, as Kubernetes would read it. */
export interface K8sObject {
  file: string
  apiVersion: string
  kind: string
  name: string
  body: Doc
}

export interface Manifests {
  spin: Doc
  runtimeConfig: Doc
  objects: K8sObject[]
  packageVersion: string
  /** Files under deploy/, by name. */
  deployFiles: string[]
  /** Texts that show kubectl commands to copy: deploy/README.md and deploy/secrets.example.yaml. */
  instructions: Array<{ file: string; text: string }>
}

export const SPIN_TOML = 'spin.toml'
export const RUNTIME_CONFIG = 'deploy/runtime-config.toml'
export const SECRETS_EXAMPLE = 'deploy/secrets.example.yaml'
const README = 'deploy/README.md'

export const isRecord = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v)
export const field = (v: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((o, k) => (isRecord(o) ? o[k] : undefined), v)
export const record = (v: unknown): Doc => (isRecord(v) ? v : {})
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
export const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

export function parseTomlText(source: string, file: string): Doc {
  try {
    return parseToml(source) as Doc
  } catch (e) {
    throw new Error(`${file} is not valid TOML: ${(e as Error).message}`)
  }
}

/** Every non-empty document of a YAML stream. YAML 1.1, as the Kubernetes tools parse it. */
export function parseYamlDocuments(source: string, file: string): Doc[] {
  const docs: Doc[] = []
  for (const doc of parseAllDocuments(source, { version: '1.1' })) {
    if (doc.errors.length > 0) throw new Error(`${file} is not valid YAML: ${doc.errors[0]?.message}`)
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) continue
    if (!isRecord(value)) throw new Error(`${file}: a document is not a mapping`)
    docs.push(value)
  }
  return docs
}

export function loadManifests(root: string, overrides: Record<string, string> = {}): Manifests {
  const read = (rel: string) => overrides[rel] ?? readFileSync(join(root, rel), 'utf8')
  const deployFiles = readdirSync(join(root, 'deploy')).sort()
  const objects = deployFiles
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .flatMap((f) => {
      const file = `deploy/${f}`
      return parseYamlDocuments(read(file), file).map((body) => ({
        file,
        apiVersion: text(body.apiVersion) ?? '',
        kind: text(body.kind) ?? '',
        name: text(field(body, 'metadata', 'name')) ?? '',
        body,
      }))
    })
  const pkg: unknown = JSON.parse(read('package.json'))
  return {
    spin: parseTomlText(read(SPIN_TOML), SPIN_TOML),
    runtimeConfig: parseTomlText(read(RUNTIME_CONFIG), RUNTIME_CONFIG),
    objects,
    packageVersion: text(field(pkg, 'version')) ?? '',
    deployFiles,
    instructions: [README, SECRETS_EXAMPLE].map((file) => ({ file, text: read(file) })),
  }
}
