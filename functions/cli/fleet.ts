// `edgewatch fleet`: the admin command line for a running server's fleet routes (enrolment tokens,
// devices, apps and deployments), over fetch. Readable lines and tables by default, the API's own JSON
// with --json. Exit codes: 0 done, 1 the server refused or could not be reached, 2 the command line
// is wrong. The commands are in fleet/: devices.ts (tokens, devices) and apps.ts (apps, deployments).
import { parseArgs } from 'node:util'
import { DEVICE_STATUSES } from '../domain/types.js'
import { APP_COMMANDS } from './fleet/apps.js'
import {
  ApiFailure,
  adminToken,
  Client,
  type FleetIo,
  processIo,
  serverUrl,
  Unreachable,
} from './fleet/client.js'
import { type Command, count, labelsOf, type ParsedValues, UsageError } from './fleet/command.js'
import { DEVICE_COMMANDS } from './fleet/devices.js'
import { clean } from './fleet/format.js'

export type { FleetIo }

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
  apps push FILE --version V [--name NAME] [--memory-pages P] [--fuel F] [--tick-ms T]
            [--wall-ms W] [--max-restarts R] [--telemetry add|replace]
      Uploads a Wasm app release (name: the file's, without .wasm). The server checks it against
      the app ABI (firmware/apps/ABI.md) and says why when it refuses it. Limits default to 1 page,
      1,000,000 fuel a tick, a tick every 1000 ms, a 100 ms watchdog, 3 restarts.
  apps list [--limit N] | apps show ID | apps delete ID
      Releases, newest first; one release; delete one (refused while devices run it).
  deploy APP --to label=k=v|device=ID ... [--batches 1,10%,100%] [--bake 30s]
             [--max-failures 10%] [--health-gate MARGIN] [--watch]
      Deploys a release (APP: its id, NAME@VERSION, or NAME for the newest) to the devices with
      every label given, or to the devices named, batch by batch (default: all at once). A batch
      runs --bake before the next starts; more failures in a batch than --max-failures (default 0)
      halt the deployment and send its devices back to the release they ran before, and so does a
      rise of more than MARGIN in the share of the batch's devices with anomalies (--health-gate).
  deployments [--limit N]
      Deployments, newest first.
  deployments ID [--watch]
      One deployment: its state, counts by device app state, its devices (those not running first)
      with ticks, fuel per tick, memory pages, restarts and reasons. On a terminal (or with
      --watch) it follows the deployment until it ends: redrawn in place on a terminal, one line
      per change otherwise.
  deployments pause|resume|abort|rollback ID
      Pause or resume a rolling deployment; abort it (devices that got the release keep it); roll
      it back (every device goes back to the release it ran before).

Options:
  --server URL    the server (else EDGEWATCH_SERVER, else http://127.0.0.1:3000)
  --token ADMIN   an admin token (else EDGEWATCH_ADMIN_TOKEN, else the one edgewatch serve generated
                  and kept in <EDGEWATCH_DATA_DIR or ./data>/tokens.json)
  --json          print the API's JSON instead of tables (devices show: {"device", "events"};
                  lists: every page fetched, as one {"items", "next"}; a followed deployment: its
                  last state)

Exit status: 0 done; 1 the server answered with an error (printed as code: message) or could not
be reached; 2 a wrong command line or no admin token.
`

const COMMANDS: Record<string, Command> = { ...DEVICE_COMMANDS, ...APP_COMMANDS }

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
  version: { type: 'string' },
  'memory-pages': { type: 'string' },
  fuel: { type: 'string' },
  'tick-ms': { type: 'string' },
  'wall-ms': { type: 'string' },
  'max-restarts': { type: 'string' },
  telemetry: { type: 'string' },
  to: { type: 'string', multiple: true },
  batches: { type: 'string' },
  bake: { type: 'string' },
  'max-failures': { type: 'string' },
  'health-gate': { type: 'string' },
  watch: { type: 'boolean' },
} as const

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

/** The command: `GROUP ACTION`, or a GROUP that is a command itself (deploy, deployments) with its argument. */
function findCommand(group: string, action: string | undefined, rest: string[]) {
  const named = COMMANDS[`${group} ${action ?? ''}`.trim()]
  if (named) return { name: `${group} ${action ?? ''}`.trim(), command: named, ids: rest }
  const own = COMMANDS[group]
  if (own) return { name: group, command: own, ids: action === undefined ? [] : [action, ...rest] }
  const actions = Object.keys(COMMANDS)
    .filter((k) => k.startsWith(group + ' '))
    .map((k) => k.slice(group.length + 1))
  throw new UsageError(
    actions.length
      ? `${group} ${action ? `has no command ${JSON.stringify(action)}` : 'needs a command'}: ${actions.join(', ')}`
      : `unknown command ${JSON.stringify(group)}: tokens, devices, apps, deploy or deployments`,
  )
}

function parseCommandLine(args: string[]) {
  const { values, positionals } = parseRaw(args)
  if (values.help || positionals[0] === 'help') return 'help' as const
  const [group, action, ...rest] = positionals
  if (!group)
    throw new UsageError(
      'give a command: tokens create|list|revoke, devices list|show|label|revoke, apps push|list|show|delete, deploy, deployments',
    )
  const { name, command, ids } = findCommand(group, action, rest)
  const usage = `[--server URL] [--token ADMIN] [--json] ${command.usage}`
  const given = (Object.keys(values) as (keyof typeof values)[]).filter(
    (k) => values[k] !== undefined && !['server', 'token', 'json', 'help'].includes(k),
  )
  for (const flag of given)
    if (!command.flags.includes(flag as Command['flags'][number]))
      throw new UsageError(`${name} takes no --${flag}`, usage)
  const allowed = command.ids === 'optional' ? [0, 1] : [command.ids]
  if (!allowed.includes(ids.length))
    throw new UsageError(
      command.ids === 1
        ? `${name} needs one ${name === 'apps push' ? 'FILE' : 'ID'}`
        : `${name} takes no argument (${JSON.stringify(ids[command.ids === 'optional' ? 1 : 0])})`,
      usage,
    )
  const checked: ParsedValues = values
  try {
    // Check every value now, so that a wrong one is a usage error before anything is asked.
    if (checked.label) labelsOf(checked.label)
    if (checked.limit !== undefined) count(checked.limit, '--limit')
    command.check?.(checked)
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
