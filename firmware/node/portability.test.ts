// The agent core must run in a browser worker as it is: no Node module, no Node global.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect, it } from 'vitest'

const FORBIDDEN = [
  /from ['"]node:/,
  /import\(['"]node:/,
  /\brequire\(/,
  /\bBuffer\b/,
  /\bprocess\./,
  /\b__dirname\b/,
  /\bimport\.meta\.dirname\b/,
  /\bNodeJS\./,
  /from ['"](fs|path|os|crypto|http|https|url|events|stream|util|child_process)['"]/,
  // A broker client is a host's port (firmware/node/mqtt-publisher.ts), never the core's.
  /from ['"]mqtt['"]/,
]

it('firmware/agent uses no Node module or global (it also runs in a browser worker)', async () => {
  const root = join(import.meta.dirname, '..', 'agent')
  const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.ts'))
  expect(files.length).toBeGreaterThan(10)
  const offences: string[] = []
  for (const file of files) {
    const lines = (await readFile(join(root, file), 'utf8')).split('\n')
    lines.forEach((line, i) => {
      const code = line.trimStart().startsWith('*') ? '' : line.replace(/\/\/.*$/, '')
      if (FORBIDDEN.some((re) => re.test(code))) offences.push(`${file}:${i + 1}: ${line.trim()}`)
    })
  }
  expect(offences).toEqual([])
})
