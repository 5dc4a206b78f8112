// Reading an input file, turning a file-system failure into a clear NabInputError.

import { readFileSync } from 'node:fs'
import { NabInputError } from './errors.js'

export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(err)
    throw new NabInputError(`cannot read ${what} ${path}: ${reason}`)
  }
}

export function readJson(path: string, what: string): unknown {
  const text = readText(path, what)
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new NabInputError(`${what} ${path} is not valid JSON: ${(err as Error).message}`)
  }
}
