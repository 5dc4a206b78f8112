// Tokens on Node: from the environment, else generated once and kept in the data directory.
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Env } from '../config.js'
import type { Tokens } from '../http/auth.js'

export interface ResolvedTokens extends Tokens {
  /** Where they came from, to tell the user. */
  source: 'environment' | 'generated' | 'data directory'
  file: string
}

export function resolveTokens(env: Env, dataDir: string): ResolvedTokens {
  const file = join(dataDir, 'tokens.json')
  let kept: Partial<Tokens> = {}
  if (existsSync(file)) kept = JSON.parse(readFileSync(file, 'utf8')) as Partial<Tokens>
  const fromEnv = Boolean(env.EDGEWATCH_INGEST_TOKEN && env.EDGEWATCH_ADMIN_TOKEN)
  const fresh = () => randomBytes(24).toString('base64url')
  const tokens: Tokens = {
    ingest: env.EDGEWATCH_INGEST_TOKEN || kept.ingest || fresh(),
    admin: env.EDGEWATCH_ADMIN_TOKEN || kept.admin || fresh(),
  }
  const generated = !fromEnv && (tokens.ingest !== kept.ingest || tokens.admin !== kept.admin)
  if (generated) writeFileSync(file, JSON.stringify(tokens, null, 2) + '\n', { mode: 0o600 })
  return { ...tokens, source: fromEnv ? 'environment' : generated ? 'generated' : 'data directory', file }
}
