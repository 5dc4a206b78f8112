// `edgewatch fleet`: the admin command line for a running server's fleet routes (enrolment tokens
// and devices), over fetch. Readable lines and tables by default, the API's own JSON with --json.
// Exit codes: 0 done, 1 the server refused or could not be reached, 2 the command line is wrong.
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parseDuration } from '../config.js'
import { DEVICE_STATUSES } from '../domain/types.js'

export const FLEET_USAGE = `Usage: edgewatch fleet [--server URL] [--token ADMIN] [--json] COMMAND

Commands:
  tokens create [--label k=v]... [--max-uses N] [--expires-in 24h]
      Makes an enrolment token (defaults: no labels, 1 use, 24h). The token is shown this once.
  tokens list [--limit N]
      Enrolment tokens, newest first, with their uses and state (never the tokens themselves).
  tokens revoke ID
      No device enrols with the token any more; devices enrolled with it stay.
  devices list [--status S] [--label k=v] [--limit N]
      Devices with status, name, labels, last heartbeat and record count; all of them unless
      --limit. S: ${DEVICE_STATUSES.join(', ')}.
  devices show ID
      One device, then its recent events (newest first).
  devices label ID [--name NAME] [--label k=v]...
      Renames the device and/or replaces all its labels with the --label ones.
  devices revoke ID
      Its tokens stop working at once and its key can never enrol again.

Options:
  --server URL    the server (else EDGEWATCH_SERVER, else http://127.0.0.1:3000)
  --token ADMIN   an admin token (else EDGEWATCH_ADMIN_TOKEN, else the one edgewatch serve generated
                  and kept in <EDGEWATCH_DATA_DIR or ./data>/tokens.json)
  --json          print the API's JSON instead of tables (devices show: {"device", "events"};
                  lists: every page fetched, as one {"items", "next"})

Exit status: 0 done; 1 the server answered with an error (printed as code: message) or could not
be reached; 2 a wrong command line or no admin token.
`

const DEFAULT_SERVER = 'http://127.0.0.1:3000'
const TIMEOUT_MS = 30_000
/** Events shown by `devices show`. */
const RECENT_EVENTS = 20
/** The most the server returns in one page. */
const PAGE_MAX = 1000

export interface FleetIo {
  env: Record<string, string | undefined>
  cwd: string
  fetch: typeof fetch
  out(text: string): void
  err(text: string): void
  now(): number
}

const processIo = (): FleetIo => ({
  env: process.env,
  cwd: process.cwd(),
  fetch: (input, init) => fetch(input, init),
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  now: Date.now,
})

// ----- the command line -----

type Flag = 'label' | 'max-uses' | 'expires-in' | 'limit' | 'status' | 'name'
interface Command {
  usage: string
  flags: Flag[]
  /** Positional arguments after the command: 0, or 1 (an ID). */
  ids: 0 | 1
  run(c: Client, a: Args): Promise<void>
}
interface Args {
  id: string
  values: ParsedValues
}
type ParsedValues = {
  label?: string[]
  'max-uses'?: string
  'expires-in'?: string
  limit?: string
  status?: string
  name?: string
}

const OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  label: { type: 'string', multiple: true },
  'max-uses': { type: 'string' },
  'expires-in': { type: 'string' },
  limit: { type: 'string' },
  status: { type: 'string' },
  name: { type: 'string' },
} as const

class UsageError extends Error {
  constructor(
    message: string,
    readonly usage = '[--server URL] [--token ADMIN] [--json] tokens|devices ...',
  ) {
    super(message)
  }
}

/** The server's answer `{"error": {"code", "message"}}`, or a failure shaped like one. */
class ApiFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** The server could not be asked at all. */
class Unreachable extends Error {}

export async function fleet(args: string[], io: FleetIo = processIo()): Promise<number> {
  try {
    const parsed = parseCommandLine(args)
    if (parsed === 'help') {
      io.out(FLEET_USAGE)
      return 0
    }
    const { command, args: a, values } = parsed
    const client = new Client(io, serverUrl(values.server, io.env), adminToken(values.token, io), values.json)
    await command.run(client, a)
    return 0
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`edgewatch fleet: ${e.message}\nusage: edgewatch fleet ${e.usage}\n`)
      return 2
    }
    if (e instanceof ApiFailure) {
      io.err(`edgewatch fleet: ${clean(e.code)}: ${clean(e.message)}\n`)
      return 1
    }
    if (e instanceof Unreachable) {
      io.err(`edgewatch fleet: ${e.message}\n`)
      return 1
    }
    throw e
  }
}

function parseCommandLine(args: string[]) {
  const { values, positionals } = parseRaw(args)
  if (values.help || positionals[0] === 'help') return 'help' as const
  const [group, action, ...ids] = positionals
  if (!group)
    throw new UsageError('give a command: tokens create|list|revoke, devices list|show|label|revoke')
  const name = `${group} ${action ?? ''}`.trim()
  const command = COMMANDS[name]
  if (!command) {
    const actions = Object.keys(COMMANDS)
      .filter((k) => k.startsWith(group + ' '))
      .map((k) => k.slice(group.length + 1))
    throw new UsageError(
      actions.length
        ? `${group} ${action ? `has no command ${JSON.stringify(action)}` : 'needs a command'}: ${actions.join(', ')}`
        : `unknown command ${JSON.stringify(group)}: tokens or devices`,
    )
  }
  const usage = `[--server URL] [--token ADMIN] [--json] ${command.usage}`
  const given = (Object.keys(values) as (keyof typeof values)[]).filter(
    (k) => values[k] !== undefined && !['server', 'token', 'json', 'help'].includes(k),
  )
  for (const flag of given)
    if (!command.flags.includes(flag as Flag)) throw new UsageError(`${name} takes no --${flag}`, usage)
  if (ids.length !== command.ids)
    throw new UsageError(
      command.ids ? `${name} needs one ID` : `${name} takes no argument (${JSON.stringify(ids[0])})`,
      usage,
    )
  const checked: ParsedValues = values
  try {
    // Check every value now, so that a wrong one is a usage error before anything is asked.
    if (checked.label) labelsOf(checked.label)
    if (checked['max-uses'] !== undefined) count(checked['max-uses'], '--max-uses')
    if (checked.limit !== undefined) count(checked.limit, '--limit')
    if (checked['expires-in'] !== undefined) {
      try {
        parseDuration(checked['expires-in'], '--expires-in')
      } catch (e) {
        throw new UsageError((e as Error).message)
      }
    }
    if (checked.status !== undefined && !(DEVICE_STATUSES as readonly string[]).includes(checked.status))
      throw new UsageError(`--status must be one of ${DEVICE_STATUSES.join(', ')}`)
    if (name === 'devices list' && (checked.label?.length ?? 0) > 1)
      throw new UsageError('devices list filters on one --label')
    if (name === 'devices label' && checked.name === undefined && !checked.label)
      throw new UsageError('give --name NAME or --label k=v (or both)')
    if (ids[0] === '') throw new UsageError('the ID is empty')
  } catch (e) {
    if (e instanceof UsageError) throw new UsageError(e.message, usage)
    throw e
  }
  return { command, values, args: { id: ids[0] ?? '', values: checked } }
}

function parseRaw(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
}

function labelsOf(pairs: string[]): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq < 1) throw new UsageError(`--label must be key=value; got ${JSON.stringify(pair)}`)
    const key = pair.slice(0, eq)
    if (Object.hasOwn(labels, key)) throw new UsageError(`--label ${key} is given twice`)
    labels[key] = pair.slice(eq + 1)
  }
  return labels
}

function count(text: string, flag: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive whole number; got ${JSON.stringify(text)}`)
  return n
}

function serverUrl(flag: string | undefined, env: FleetIo['env']): string {
  const text = flag ?? (env.EDGEWATCH_SERVER || DEFAULT_SERVER)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`the server must be an http(s) URL; got ${JSON.stringify(text)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`the server must be an http(s) URL; got ${JSON.stringify(text)}`)
  // A path is kept, for a server behind a prefix: https://host/edgewatch.
  return (url.origin + url.pathname).replace(/\/+$/, '')
}

/** --token, else EDGEWATCH_ADMIN_TOKEN (its first, if a list), else the token `serve` generated. */
function adminToken(flag: string | undefined, io: FleetIo): string {
  if (flag !== undefined) {
    // A bearer token is printable ASCII without spaces; anything else could not be sent in a header.
    if (!/^[!-~]+$/.test(flag)) throw new UsageError('--token must be printable ASCII without spaces')
    return flag
  }
  const fromEnv = io.env.EDGEWATCH_ADMIN_TOKEN?.split(',')
    .map((t) => t.trim())
    .find(Boolean)
  if (fromEnv) return fromEnv
  const file = resolve(io.cwd, io.env.EDGEWATCH_DATA_DIR || './data', 'tokens.json')
  let kept: unknown
  if (existsSync(file)) {
    try {
      kept = JSON.parse(readFileSync(file, 'utf8'))
    } catch (e) {
      throw new UsageError(`${file} is not readable JSON (${(e as Error).message})`)
    }
  }
  const admin = (kept as { admin?: unknown } | undefined)?.admin
  if (typeof admin !== 'string' || !admin)
    throw new UsageError(
      `no admin token: give --token, set EDGEWATCH_ADMIN_TOKEN, or run where edgewatch serve keeps its data (no admin token in ${file})`,
    )
  io.err(`edgewatch fleet: using the admin token kept in ${file}\n`)
  return admin
}

// ----- the server -----

class Client {
  constructor(
    readonly io: FleetIo,
    readonly server: string,
    private readonly token: string,
    readonly json = false,
  ) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = this.server + path
    let res: Response
    try {
      res = await this.io.fetch(url, {
        method,
        headers: {
          Authorization: `Bearer ${this.token}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      })
    } catch (e) {
      throw unreachable(this.server, e)
    }
    const text = await res.text().catch((e: unknown) => {
      throw unreachable(this.server, e)
    })
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (!res.ok) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error
      if (typeof error?.code === 'string')
        throw new ApiFailure(error.code, typeof error.message === 'string' ? error.message : res.statusText)
      throw new ApiFailure(
        `http_${res.status}`,
        `${method} ${url}: ${text.trim().slice(0, 200) || res.statusText || 'no body'}`,
      )
    }
    if (parsed === undefined)
      throw new ApiFailure(
        'bad_answer',
        `${method} ${url} answered ${res.status} without JSON: is it edgewatch?`,
      )
    return parsed as T
  }

  /** Every page of a list, following `next`, up to `limit` items. */
  async collect<T>(path: string, query: URLSearchParams, limit?: number): Promise<Page<T>> {
    const items: T[] = []
    let cursor: string | null = null
    for (;;) {
      const q = new URLSearchParams(query)
      q.set('limit', String(Math.min(PAGE_MAX, limit === undefined ? PAGE_MAX : limit - items.length)))
      if (cursor) q.set('cursor', cursor)
      const page: Page<T> = await this.call('GET', `${path}?${q}`)
      items.push(...page.items)
      const next = page.next
      if (!next || (limit !== undefined && items.length >= limit)) return { items, next }
      if (next === cursor) throw new ApiFailure('bad_answer', `${path} gave the same cursor twice`)
      cursor = next
    }
  }

  print(json: unknown, human: () => string): void {
    this.io.out(this.json ? JSON.stringify(json) + '\n' : human())
  }
}

function unreachable(server: string, e: unknown): Unreachable {
  const err = e as Error & { cause?: { code?: string; message?: string } }
  if (err.name === 'TimeoutError')
    return new Unreachable(`no answer from the server at ${server} in ${TIMEOUT_MS / 1000} s`)
  const code = err.cause?.code
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND'
        ? 'no such host'
        : (code ?? err.cause?.message ?? err.message)
  return new Unreachable(
    `cannot reach the server at ${server} (${why}): is edgewatch serve running there? Set --server or EDGEWATCH_SERVER`,
  )
}

interface Page<T> {
  items: T[]
  next: string | null
}

interface EnrolmentToken {
  id: string
  labels: Record<string, string>
  maxUses: number
  uses: number
  expiresAt: string
  createdAt: string
  revokedAt: string | null
}

interface Device {
  deviceId: string
  status: string
  name: string | null
  labels: Record<string, string>
  firstSeen: string
  lastSeen: string | null
  lastTs: string | null
  recordCount: number
  anomalyCount: number
  enrolledAt: string | null
  lastHeartbeat: string | null
  agentVersion: string | null
  heartbeat: Record<string, unknown> | null
}

interface DeviceEvent {
  id: number
  deviceId: string
  ts: string
  kind: string
  detail: string | null
}

const path = {
  tokens: '/v1/fleet/enrolment-tokens',
  token: (id: string) => `/v1/fleet/enrolment-tokens/${encodeURIComponent(id)}`,
  devices: '/v1/devices',
  device: (id: string) => `/v1/devices/${encodeURIComponent(id)}`,
}

// ----- the commands -----

const COMMANDS: Record<string, Command> = {
  'tokens create': {
    usage: 'tokens create [--label k=v]... [--max-uses N] [--expires-in 24h]',
    flags: ['label', 'max-uses', 'expires-in'],
    ids: 0,
    async run(c, { values }) {
      const body: Record<string, unknown> = {}
      if (values.label) body.labels = labelsOf(values.label)
      if (values['max-uses'] !== undefined) body.maxUses = count(values['max-uses'], '--max-uses')
      if (values['expires-in'] !== undefined) body.expiresIn = values['expires-in']
      const t = await c.call<EnrolmentToken & { token: string }>('POST', path.tokens, body)
      c.print(t, () =>
        lines(
          `enrolment token ${t.id}: labels ${labelText(t.labels)}; ${t.maxUses} use${t.maxUses === 1 ? '' : 's'}; expires ${when(t.expiresAt)}`,
          `token: ${t.token}`,
          'This token is shown once: the server keeps only its hash. Devices enrol with it.',
        ),
      )
    },
  },
  'tokens list': {
    usage: 'tokens list [--limit N]',
    flags: ['limit'],
    ids: 0,
    async run(c, { values }) {
      const limit = values.limit === undefined ? undefined : count(values.limit, '--limit')
      const page = await c.collect<EnrolmentToken>(path.tokens, new URLSearchParams(), limit)
      const now = c.io.now()
      c.print(page, () =>
        page.items.length === 0
          ? 'no enrolment tokens\n'
          : table(
              ['ID', 'STATE', 'USES', 'LABELS', 'EXPIRES', 'CREATED'],
              page.items.map((t) => [
                t.id,
                tokenState(t, now),
                `${t.uses}/${t.maxUses}`,
                labelText(t.labels),
                when(t.expiresAt),
                when(t.createdAt),
              ]),
            ) + more(page, 'tokens'),
      )
    },
  },
  'tokens revoke': {
    usage: 'tokens revoke ID',
    flags: [],
    ids: 1,
    async run(c, { id }) {
      const t = await c.call<EnrolmentToken>('POST', `${path.token(id)}/revoke`)
      c.print(t, () =>
        lines(
          `revoked enrolment token ${t.id} (used ${t.uses} of ${t.maxUses}; revoked ${when(t.revokedAt)})`,
        ),
      )
    },
  },
  'devices list': {
    usage: 'devices list [--status S] [--label k=v] [--limit N]',
    flags: ['status', 'label', 'limit'],
    ids: 0,
    async run(c, { values }) {
      const limit = values.limit === undefined ? undefined : count(values.limit, '--limit')
      const query = new URLSearchParams()
      if (values.status) query.set('status', values.status)
      if (values.label?.[0] !== undefined) query.set('label', values.label[0])
      const page = await c.collect<Device>(path.devices, query, limit)
      c.print(page, () =>
        page.items.length === 0
          ? 'no devices\n'
          : table(
              ['ID', 'STATUS', 'NAME', 'LABELS', 'LAST HEARTBEAT', 'RECORDS'],
              page.items.map((d) => [
                d.deviceId,
                d.status,
                d.name ?? '-',
                labelText(d.labels),
                when(d.lastHeartbeat),
                String(d.recordCount),
              ]),
            ) + more(page, 'devices'),
      )
    },
  },
  'devices show': {
    usage: 'devices show ID',
    flags: [],
    ids: 1,
    async run(c, { id }) {
      const device = await c.call<Device>('GET', path.device(id))
      const events = await c.call<Page<DeviceEvent>>(
        'GET',
        `${path.device(id)}/events?limit=${RECENT_EVENTS}`,
      )
      c.print({ device, events }, () => {
        const fields = deviceFields(device)
        const eventLines = events.items.length
          ? table(
              ['  TIME', 'EVENT', 'DETAIL'],
              events.items.map((e) => ['  ' + when(e.ts), e.kind, e.detail ?? '']),
            )
          : '  none\n'
        return (
          fields +
          `\nrecent events (newest first${events.next ? `, the ${RECENT_EVENTS} newest` : ''}):\n` +
          eventLines
        )
      })
    },
  },
  'devices label': {
    usage: 'devices label ID [--name NAME] [--label k=v]...',
    flags: ['name', 'label'],
    ids: 1,
    async run(c, { id, values }) {
      const body: Record<string, unknown> = {}
      if (values.name !== undefined) body.name = values.name
      if (values.label) body.labels = labelsOf(values.label)
      const d = await c.call<Device>('PATCH', path.device(id), body)
      c.print(d, () =>
        lines(`updated device ${d.deviceId}: name ${d.name ?? '-'}; labels ${labelText(d.labels)}`),
      )
    },
  },
  'devices revoke': {
    usage: 'devices revoke ID',
    flags: [],
    ids: 1,
    async run(c, { id }) {
      const d = await c.call<Device>('POST', `${path.device(id)}/revoke`)
      c.print(d, () => lines(`revoked device ${d.deviceId} (status ${d.status}): its tokens no longer work`))
    },
  },
}

// ----- output -----

function deviceFields(d: Device): string {
  const rows: [string, string][] = [
    ['device', d.deviceId],
    ['status', d.status],
    ['name', d.name ?? '-'],
    ['labels', labelText(d.labels)],
    ['enrolled', when(d.enrolledAt)],
    ['first seen', when(d.firstSeen)],
    ['last record', d.lastSeen ? `${when(d.lastSeen)} (record time ${when(d.lastTs)})` : '-'],
    ['records', `${d.recordCount} (${d.anomalyCount} anomalies)`],
    ['last heartbeat', when(d.lastHeartbeat)],
    ['agent version', d.agentVersion ?? '-'],
    ['heartbeat', d.heartbeat ? JSON.stringify(d.heartbeat) : '-'],
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${clean(v)}`).join('\n') + '\n'
}

function tokenState(t: EnrolmentToken, now: number): string {
  if (t.revokedAt) return 'revoked'
  if (t.uses >= t.maxUses) return 'used up'
  if (Date.parse(t.expiresAt) <= now) return 'expired'
  return 'active'
}

function more(page: Page<unknown>, what: string): string {
  return page.next ? `(more ${what}: raise --limit, or leave it out for all)\n` : ''
}

function labelText(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`)
  return pairs.length ? pairs.join(',') : '-'
}

/** An ISO time as `2026-01-02 10:00:05Z`; `-` for none. */
function when(iso: string | null | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-'
}

function lines(...text: string[]): string {
  return text.map(clean).join('\n') + '\n'
}

/** Columns padded to their widest cell; every cell cleaned. */
function table(head: string[], rows: string[][]): string {
  const all = [head, ...rows.map((r) => r.map(clean))]
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  return (
    all
      .map((r) =>
        r
          .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  )
}

/**
 * Names, labels and ids come from devices: control and formatting characters (escape sequences,
 * newlines, bidirectional overrides) are shown escaped, so that they cannot rewrite the terminal.
 */
function clean(text: string): string {
  return text.replace(
    /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu,
    (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`,
  )
}
