// `edgewatch fleet` against the real server: `edgewatch serve` in a child process, the command run as
// users run it (bin/edgewatch.js, the bundle), a device enrolled over HTTP with the test device.
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectRoot } from '../../kernels/node.js'
import { type TestDevice, testDevice } from '../../test/device-client.js'
import { type ServerProcess, startServer } from '../../test/server-process.js'

const cli = join(projectRoot(), 'bin', 'edgewatch.js')
const ADMIN = 'admin-' + 'a'.repeat(20)
const INGEST = 'ingest-' + 'i'.repeat(20)
/** An unmanaged device whose id needs encoding in a path. */
const ODD_ID = 'line 3/pump#7?x=1&y'

interface Run {
  code: number
  stdout: string
  stderr: string
}

let dir: string
let server: ServerProcess

/** Runs `edgewatch fleet ...` with no EDGEWATCH_* variable but those given, in an empty directory. */
function run(args: string[], env: Record<string, string> = {}, cwd = join(dir, 'empty')): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EDGEWATCH_')))
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, 'fleet', ...args],
      { env: { ...base, ...env }, cwd, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}
const admin = (...args: string[]) => run(['--server', server.url, '--token', ADMIN, ...args])
async function adminJson<T>(...args: string[]): Promise<T> {
  const r = await admin('--json', ...args)
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return JSON.parse(r.stdout) as T
}
const request = (path: string, init: RequestInit) => fetch(server.url + path, init)

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgewatch-fleet-'))
  mkdirSync(join(dir, 'empty'))
  server = await startServer({
    EDGEWATCH_DATA_DIR: join(dir, 'server'),
    EDGEWATCH_INGEST_TOKEN: INGEST,
    EDGEWATCH_ADMIN_TOKEN: ADMIN,
  })
})
afterAll(async () => {
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

interface Token {
  id: string
  token?: string
  labels: Record<string, string>
  maxUses: number
  uses: number
  revokedAt: string | null
}
interface Device {
  deviceId: string
  status: string
  name: string | null
  labels: Record<string, string>
  recordCount: number
  lastHeartbeat: string | null
}
interface Page<T> {
  items: T[]
  next: string | null
}

describe('edgewatch fleet', () => {
  let token: Token
  let device: TestDevice

  it('says how it is used', async () => {
    const help = await run(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('tokens create [--label k=v]... [--max-uses N] [--expires-in 24h]')
    expect(help.stdout).toContain('devices label ID [--name NAME] [--label k=v]...')
    const top = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [cli, '--help'], { encoding: 'utf8' }, (e, out) =>
        e ? reject(e) : resolve(out),
      ),
    )
    expect(top).toContain('edgewatch fleet [--server URL] [--token ADMIN] [--json] COMMAND')
  })

  it('makes an enrolment token, shown once, that enrols a device with its labels', async () => {
    const made = await admin(
      'tokens',
      'create',
      '--label',
      'site=plant-3',
      '--label',
      'line=a',
      '--max-uses',
      '2',
      '--expires-in',
      '1h',
    )
    expect(made.code).toBe(0)
    expect(made.stdout).toMatch(/^token: ewe_\S+$/m)
    expect(made.stdout).toContain('shown once')
    expect(made.stdout).toContain('2 uses')
    const secret = /^token: (\S+)$/m.exec(made.stdout)![1]!
    const id = /^enrolment token (\S+):/.exec(made.stdout)![1]!

    device = await testDevice(request)
    expect((await device.enrol(secret)).status).toBe(201)
    expect(device.deviceId).toMatch(/^dev-/)
    expect((await device.login()).status).toBe(200)
    expect((await device.heartbeat()).status).toBe(200)

    // --json is the API's answer, the token included.
    token = await adminJson<Token>('tokens', 'create', '--label', 'site=plant-9')
    expect(token).toMatchObject({ labels: { site: 'plant-9' }, maxUses: 1, uses: 0, revokedAt: null })
    expect(token.token).toMatch(/^ewe_/)

    const list = await admin('tokens', 'list')
    expect(list.code).toBe(0)
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+STATE\s+USES\s+LABELS\s+EXPIRES\s+CREATED$/)
    const row = list.stdout.split('\n').find((l) => l.startsWith(id))!
    expect(row).toMatch(/\sactive\s+1\/2\s/)
    expect(row).toContain('site=plant-3')
    const page = await adminJson<Page<Token>>('tokens', 'list')
    expect(page.next).toBeNull()
    expect(page.items.map((t) => t.id).sort()).toEqual([token.id, id].sort())
    expect(page.items.every((t) => t.token === undefined)).toBe(true)
    const one = await adminJson<Page<Token>>('tokens', 'list', '--limit', '1')
    expect(one.items).toHaveLength(1)
    expect(one.next).not.toBeNull()
  })

  it('revokes an enrolment token: it enrols nothing more', async () => {
    const revoked = await admin('tokens', 'revoke', token.id)
    expect(revoked.code).toBe(0)
    expect(revoked.stdout).toContain(`revoked enrolment token ${token.id}`)
    const late = await testDevice(request)
    const res = await late.enrol(token.token!)
    expect(res.status).toBe(401)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('enrolment_token_revoked')
    const list = await admin('tokens', 'list')
    expect(list.stdout.split('\n').find((l) => l.startsWith(token.id))).toMatch(/\srevoked\s+0\/1\s/)
    // Again: the server's answer, whatever it is, is printed as it is.
    const unknown = await admin('tokens', 'revoke', 'no-such-token')
    expect(unknown).toMatchObject({ code: 1, stdout: '' })
    expect(unknown.stderr).toBe(
      'edgewatch fleet: enrolment_token_not_found: no enrolment token no-such-token\n',
    )
  })

  it('lists devices, with status and label filters', async () => {
    const ingest = await request('/v1/ingest', {
      method: 'POST',
      headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': 'application/json' },
      body: JSON.stringify([1, 2, 3].map((temp) => ({ deviceId: ODD_ID, temp }))),
    })
    expect(ingest.status).toBe(200)

    const list = await admin('devices', 'list')
    expect(list.code).toBe(0)
    const [head, ...rows] = list.stdout.trimEnd().split('\n')
    expect(head).toMatch(/^ID\s+STATUS\s+NAME\s+LABELS\s+LAST HEARTBEAT\s+RECORDS$/)
    expect(rows).toHaveLength(2)
    const mine = rows.find((r) => r.startsWith(device.deviceId))!
    expect(mine).toMatch(
      /\sconnected\s+pump-7\s+(line=a,site=plant-3|site=plant-3,line=a)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+0$/,
    )
    const odd = rows.find((r) => r.startsWith(ODD_ID))!
    expect(odd).toMatch(/\sunmanaged\s+-\s+-\s+-\s+3$/)

    const all = await adminJson<Page<Device>>('devices', 'list')
    expect(all.next).toBeNull()
    expect(all.items.map((d) => d.deviceId).sort()).toEqual([device.deviceId, ODD_ID].sort())
    const connected = await adminJson<Page<Device>>('devices', 'list', '--status', 'connected')
    expect(connected.items.map((d) => d.deviceId)).toEqual([device.deviceId])
    const unmanaged = await adminJson<Page<Device>>('devices', 'list', '--status', 'unmanaged')
    expect(unmanaged.items).toMatchObject([{ deviceId: ODD_ID, recordCount: 3 }])
    const site = await adminJson<Page<Device>>('devices', 'list', '--label', 'site=plant-3')
    expect(site.items.map((d) => d.deviceId)).toEqual([device.deviceId])
    const none = await admin('devices', 'list', '--label', 'site=plant-4')
    expect(none).toMatchObject({ code: 0, stdout: 'no devices\n' })
    const limited = await admin('devices', 'list', '--limit', '1')
    expect(limited.stdout.trimEnd().split('\n')).toHaveLength(3)
    expect(limited.stdout).toContain('(more devices: raise --limit')
  })

  it('shows a device, then its events', async () => {
    const shown = await admin('devices', 'show', device.deviceId)
    expect(shown.code).toBe(0)
    expect(shown.stdout).toMatch(new RegExp(`^device\\s+${device.deviceId}$`, 'm'))
    expect(shown.stdout).toMatch(/^status\s+connected$/m)
    expect(shown.stdout).toMatch(/^agent version\s+0\.1\.0$/m)
    const events = shown.stdout.slice(shown.stdout.indexOf('recent events (newest first):'))
    expect(events).toMatch(/^ {2}\d{4}-\S+ \S+\s+connected/m)
    expect(events).toMatch(/^ {2}\d{4}-\S+ \S+\s+enrolled/m)
    expect(events.indexOf('connected')).toBeLessThan(events.indexOf('enrolled'))

    const json = await adminJson<{ device: Device; events: Page<{ kind: string }> }>(
      'devices',
      'show',
      device.deviceId,
    )
    expect(json.device).toMatchObject({ deviceId: device.deviceId, status: 'connected', name: 'pump-7' })
    expect(json.events.items.map((e) => e.kind)).toEqual(['connected', 'enrolled'])

    // An id that needs encoding reaches the server whole.
    const odd = await adminJson<{ device: Device }>('devices', 'show', ODD_ID)
    expect(odd.device).toMatchObject({ deviceId: ODD_ID, status: 'unmanaged', recordCount: 3 })

    const missing = await admin('devices', 'show', 'nope')
    expect(missing).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'edgewatch fleet: device_not_found: no device nope\n',
    })
  })

  it('renames and relabels a device: --label replaces its labels', async () => {
    const relabelled = await admin(
      'devices',
      'label',
      device.deviceId,
      '--label',
      'site=plant-4',
      '--label',
      'zone=b',
    )
    expect(relabelled.code).toBe(0)
    expect(relabelled.stdout).toBe(
      `updated device ${device.deviceId}: name pump-7; labels site=plant-4,zone=b\n`,
    )
    const renamed = await adminJson<Device>('devices', 'label', device.deviceId, '--name', 'pump-8')
    expect(renamed).toMatchObject({ name: 'pump-8', labels: { site: 'plant-4', zone: 'b' } })
    const odd = await adminJson<Device>('devices', 'label', ODD_ID, '--name', 'odd one', '--label', 'k=v=w')
    expect(odd).toMatchObject({ deviceId: ODD_ID, name: 'odd one', labels: { k: 'v=w' } })
    const site = await adminJson<Page<Device>>('devices', 'list', '--label', 'site=plant-4')
    expect(site.items.map((d) => d.deviceId)).toEqual([device.deviceId])
    const missing = await admin('devices', 'label', 'nope', '--name', 'x')
    expect(missing).toMatchObject({ code: 1, stderr: 'edgewatch fleet: device_not_found: no device nope\n' })
    const tooLong = await admin('devices', 'label', device.deviceId, '--label', `${'k'.repeat(65)}=v`)
    expect(tooLong.code).toBe(1)
    expect(tooLong.stderr).toMatch(/^edgewatch fleet: invalid_request: /)
  })

  it('shows what devices name themselves escaped, never as terminal controls', async () => {
    const name = 'evil\u009b2J\u202eeman'
    expect((await admin('devices', 'label', ODD_ID, '--name', name)).code).toBe(0)
    const list = await admin('devices', 'list', '--status', 'unmanaged')
    expect(list.stdout).toContain('evil\\u009b2J\\u202eeman')
    expect(list.stdout).not.toMatch(/[\u009b\u202e]/)
    expect((await adminJson<Device>('devices', 'label', ODD_ID, '--name', 'odd one')).name).toBe('odd one')
  })

  it('revokes a device: its credentials stop working', async () => {
    const revoked = await admin('devices', 'revoke', device.deviceId)
    expect(revoked.code).toBe(0)
    expect(revoked.stdout).toContain(`revoked device ${device.deviceId} (status revoked)`)
    const beat = await device.heartbeat()
    expect(beat.status).toBe(403)
    expect(((await beat.json()) as { error: { code: string } }).error.code).toBe('device_revoked')
    const list = await adminJson<Page<Device>>('devices', 'list', '--status', 'revoked')
    expect(list.items.map((d) => d.deviceId)).toEqual([device.deviceId])
    const unmanaged = await admin('devices', 'revoke', ODD_ID)
    expect(unmanaged.code).toBe(1)
    expect(unmanaged.stderr).toBe(`edgewatch fleet: device_not_found: no enrolled device ${ODD_ID}\n`)
  })

  it('follows next cursors across pages, up to --limit', async () => {
    const many = Array.from({ length: 1100 }, (_, i) => ({
      deviceId: `bulk-${String(i).padStart(4, '0')}`,
      v: i,
    }))
    const ingest = await request('/v1/ingest', {
      method: 'POST',
      headers: { Authorization: `Bearer ${INGEST}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(many),
    })
    expect(ingest.status).toBe(200)
    const all = await adminJson<Page<Device>>('devices', 'list')
    expect(all.next).toBeNull()
    expect(all.items).toHaveLength(1102)
    expect(new Set(all.items.map((d) => d.deviceId)).size).toBe(1102)
    const some = await adminJson<Page<Device>>('devices', 'list', '--status', 'unmanaged', '--limit', '1050')
    expect(some.items).toHaveLength(1050)
    expect(some.next).not.toBeNull()
    const table = await admin('devices', 'list', '--status', 'unmanaged')
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(1 + 1101)
  })

  it('refuses a wrong command line with exit 2 and a usage line', async () => {
    const cases: [string[], RegExp][] = [
      [[], /give a command/],
      [['widgets', 'list'], /unknown command "widgets"/],
      [['tokens'], /tokens needs a command: create, list, revoke/],
      [['devices', 'delete', 'x'], /devices has no command "delete"/],
      [['devices', 'list', '--nope'], /Unknown option '--nope'/],
      [['devices', 'list', '--max-uses', '3'], /devices list takes no --max-uses/],
      [['devices', 'list', '--status', 'asleep'], /--status must be one of unmanaged, pending/],
      [['devices', 'list', '--limit', '0'], /--limit must be a positive whole number/],
      [['devices', 'list', '--label', 'a=1', '--label', 'b=2'], /one --label/],
      [['devices', 'show'], /devices show needs one ID/],
      [['devices', 'show', 'a', 'b'], /devices show needs one ID/],
      [['devices', 'label', 'x'], /give --name NAME or --label k=v/],
      [['tokens', 'create', '--label', 'site'], /--label must be key=value; got "site"/],
      [['tokens', 'create', '--label', 'a=1', '--label', 'a=2'], /--label a is given twice/],
      [['tokens', 'create', '--max-uses', 'many'], /--max-uses must be a positive whole number/],
      [['tokens', 'create', '--expires-in', 'soon'], /--expires-in must be a duration/],
      [['tokens', 'list', 'extra'], /tokens list takes no argument/],
      [['--server', 'ftp://x', 'tokens', 'list'], /the server must be an http\(s\) URL/],
      [['--token', 'a b', 'tokens', 'list'], /--token must be printable ASCII/],
    ]
    const runs = await Promise.all(cases.map(([args]) => admin(...args)))
    runs.forEach((r, i) => {
      const [args, message] = cases[i]!
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: '' })
      expect(r.stderr).toMatch(message)
      expect(r.stderr).toMatch(/\nusage: edgewatch fleet \[--server URL\] \[--token ADMIN\] \[--json\] .+\n$/)
    })
    expect(runs[5]!.stderr).toContain(
      'usage: edgewatch fleet [--server URL] [--token ADMIN] [--json] devices list [--status S] [--label k=v] [--limit N]\n',
    )
  })

  it('prints the server refusing a wrong token as code: message, exit 1', async () => {
    const wrong = await run(['--server', server.url, '--token', 'w'.repeat(24), 'devices', 'list'])
    expect(wrong).toMatchObject({ code: 1, stdout: '' })
    expect(wrong.stderr).toMatch(/^edgewatch fleet: unauthorized: .+\n$/)
  })

  it('names the URL of a server it cannot reach', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number }
        s.close(() => resolve(port))
      })
    })
    const down = await run(['--server', `http://127.0.0.1:${port}`, '--token', ADMIN, 'tokens', 'list'])
    expect(down).toMatchObject({ code: 1, stdout: '' })
    expect(down.stderr).toBe(
      `edgewatch fleet: cannot reach the server at http://127.0.0.1:${port} (connection refused): is edgewatch serve running there? Set --server or EDGEWATCH_SERVER\n`,
    )
  })

  it('takes the server and token from the environment (the first of a token list)', async () => {
    const r = await run(['--json', 'tokens', 'list'], {
      EDGEWATCH_SERVER: server.url + '/',
      EDGEWATCH_ADMIN_TOKEN: `${ADMIN},${'z'.repeat(20)}`,
    })
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect((JSON.parse(r.stdout) as Page<Token>).items).toHaveLength(2)
  })
})

describe('edgewatch fleet without a token given', () => {
  let generated: ServerProcess
  let home: string
  beforeAll(async () => {
    home = join(dir, 'home')
    mkdirSync(home)
    // No admin token: serve generates one and keeps it in <data dir>/tokens.json.
    generated = await startServer({ EDGEWATCH_DATA_DIR: join(home, 'data'), EDGEWATCH_INGEST_TOKEN: INGEST })
  })
  afterAll(async () => {
    await generated?.stop()
  })

  it('uses the admin token serve generated in the data directory, and says so', async () => {
    const viaEnv = await run(['devices', 'list'], {
      EDGEWATCH_SERVER: generated.url,
      EDGEWATCH_DATA_DIR: join(home, 'data'),
    })
    expect(viaEnv).toMatchObject({ code: 0, stdout: 'no devices\n' })
    expect(viaEnv.stderr).toBe(
      `edgewatch fleet: using the admin token kept in ${join(home, 'data', 'tokens.json')}\n`,
    )
    // The default data directory is ./data.
    const viaCwd = await run(['devices', 'list'], { EDGEWATCH_SERVER: generated.url }, home)
    expect(viaCwd).toMatchObject({ code: 0, stdout: 'no devices\n' })
    expect(viaCwd.stderr).toContain(join(home, 'data', 'tokens.json'))
  })

  it('says where it looked when there is no admin token anywhere (exit 2)', async () => {
    const r = await run(['devices', 'list'], { EDGEWATCH_SERVER: generated.url })
    expect(r).toMatchObject({ code: 2, stdout: '' })
    expect(r.stderr).toContain('no admin token: give --token, set EDGEWATCH_ADMIN_TOKEN')
    expect(r.stderr).toContain(join(dir, 'empty', 'data', 'tokens.json'))
  })
})
