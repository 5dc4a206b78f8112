#!/usr/bin/env node
// The edgewatch command: runs the bundled CLI (npm run build makes dist/edgewatch.mjs).
import { existsSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'

// A smaller young generation: a server busy with many small requests otherwise grows its heap (and
// RSS) far beyond what it holds; measured with bench:fleet, 1,000 devices: 231 MB -> 182 MB peak.
setFlagsFromString('--max-semi-space-size=4')

const entry = new URL('../dist/edgewatch.mjs', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('edgewatch is not built yet: run `npm run build` (or `npm start`) first.\n')
  process.exit(2)
}
const { main } = await import(entry.href)
process.exitCode = await main(process.argv.slice(2))
