#!/usr/bin/env node
// The edgewatch command: runs the bundled CLI (npm run build makes dist/edgewatch.mjs).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/edgewatch.mjs', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('edgewatch is not built yet: run `npm run build` (or `npm start`) first.\n')
  process.exit(2)
}
const { main } = await import(entry.href)
process.exitCode = await main(process.argv.slice(2))
