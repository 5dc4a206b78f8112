// `edgewatch fleet apps|deploy|deployments` against the real server (`edgewatch serve` in a child
// process), run as users run it (bin/edgewatch.js), with protocol-level test devices that run what
// they are told.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { projectRoot } from '../../kernels/node.js'
import { type TestDevice, testDevice } from '../../test/device-client.js'
import { type ServerProcess, startServer } from '../../test/server-process.js'

const cli = join(projectRoot(), 'bin', 'edgewatch.js')
const built = (name: string) => join(projectRoot(), 'firmware', 'apps', 'build', `${name}.wasm`)
const ADMIN = 'admin-' + 'b'.repeat(20)

interface Run {
  code: number
  stdout: string
  stderr: string
}

let dir: string
let server: ServerProcess

function admin(...args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EDGEWATCH_')))
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, 'fleet', '--server', server.url, '--token', ADMIN, ...args],
      { env, cwd: dir, encoding: 'utf8' },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr })
      },
    )
  })
}

/** Devices that heartbeat every 200 ms, each reporting every app it is told to run as running. */
function obeyUntilStopped(devices: TestDevice[]): () => Promise<void> {
  let stopped = false
  const loops = devices.map(async (d) => {
    let apps: Record<string, unknown>[] = []
    while (!stopped) {
      const res = await d.heartbeat({ uptimeMs: 1, apps })
      const told =
        ((await res.json()) as { apps?: { appId: string; deploymentId: string; name: string }[] }).apps ?? []
      apps = told.map((a) => ({
        ...a,
        state: 'running',
        ticks: 5,
        fuelPerTick: 120,
        memoryPages: 1,
        restarts: 0,
      }))
      await new Promise((r) => setTimeout(r, 200))
    }
  })
  return async () => {
    stopped = true
    await Promise.all(loops)
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgewatch-fleet-apps-'))
  server = await startServer({ EDGEWATCH_DATA_DIR: join(dir, 'server'), EDGEWATCH_ADMIN_TOKEN: ADMIN })
})
afterAll(async () => {
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('edgewatch fleet apps, deploy and deployments', () => {
  let devices: TestDevice[]

  it('pushes an app release, and says why the server refuses a bad one', async () => {
    const pushed = await admin(
      'apps',
      'push',
      built('report-on-change'),
      '--version',
      '1.0.0',
      '--fuel',
      '20000',
    )
    expect(pushed.stderr).toBe('')
    expect(pushed.code).toBe(0)
    expect(pushed.stdout).toMatch(/^app app_\S+: report-on-change 1\.0\.0, \d+ bytes, sha256 [0-9a-f]{64}$/m)
    expect(pushed.stdout).toContain('fuel 20000/tick')
    const refused = await admin('apps', 'push', built('forbidden-import'), '--version', '1')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      /^edgewatch fleet: invalid_app: forbidden import wasi_snapshot_preview1\.\w+/,
    )
    const notWasm = join(dir, 'notes.wasm')
    writeFileSync(notWasm, 'not a module')
    const malformed = await admin('apps', 'push', notWasm, '--version', '1')
    expect(malformed.stderr).toMatch(/^edgewatch fleet: invalid_app: malformed module/)
    const list = await admin('apps', 'list')
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+VERSION\s+SIZE\s+LIMITS\s+CREATED$/)
    expect(list.stdout).toContain('report-on-change')
    expect(list.stdout).not.toContain('forbidden-import')
  })

  it('deploys to a label and follows the deployment until every device runs it', async () => {
    const made = await fetch(`${server.url}/v1/fleet/enrolment-tokens`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ labels: { site: 'cli' }, maxUses: 3 }),
    })
    const { token } = (await made.json()) as { token: string }
    devices = []
    for (let i = 0; i < 3; i++) {
      const d = await testDevice((path, init) => fetch(server.url + path, init))
      await d.enrol(token)
      await d.login()
      devices.push(d)
    }
    const stop = obeyUntilStopped(devices)
    const followed = await admin(
      'deploy',
      'report-on-change@1.0.0',
      '--to',
      'label=site=cli',
      '--batches',
      '1,100%',
      '--watch',
    )
    await stop()
    expect(followed.stderr).toBe('')
    expect(followed.code).toBe(0)
    // A line per change (not a terminal), then the whole view.
    expect(followed.stdout).toMatch(/\] rolling: running 0, pending 3 of 3$/m)
    expect(followed.stdout).toMatch(/\] succeeded: running 3 of 3$/m)
    expect(followed.stdout).toMatch(
      /^DEVICE\s+BATCH\s+STATE\s+TICKS\s+FUEL\/TICK\s+PAGES\s+RESTARTS\s+REASON$/m,
    )
    expect(followed.stdout).toMatch(/^dev-\S+\s+1\s+running\s+5\s+120\s+1\s+0$/m)
  }, 60_000)

  it('lists deployments, shows one, and rolls it back', async () => {
    const list = await admin('--json', 'deployments')
    const [deployment] = (JSON.parse(list.stdout) as { items: { id: string; state: string }[] }).items
    expect(deployment).toMatchObject({ state: 'succeeded' })
    const shown = await admin('deployments', deployment!.id)
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain(`deployment ${deployment!.id}: report-on-change 1.0.0`)
    expect(shown.stdout).toContain('succeeded, batch 2 of 2')
    const back = await admin('deployments', 'rollback', deployment!.id)
    expect(back.stdout).toBe(`deployment ${deployment!.id}: rolled_back (rolled back by an operator)\n`)
    const again = await admin('deployments', 'rollback', deployment!.id)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('invalid_state: cannot rollback a deployment that is rolled_back')
  })

  it('refuses a wrong command line with exit 2, before asking the server', async () => {
    for (const [args, message] of [
      [['deploy', 'x'], 'give the devices: --to label=KEY=VALUE'],
      [['deploy', 'x', '--to', 'site=a'], '--to must be label=KEY=VALUE or device=ID'],
      [
        ['deploy', 'x', '--to', 'label=a=b', '--batches', '1,ten'],
        '--batches is a list of device counts or shares',
      ],
      [['deploy', 'x', '--to', 'label=a=b', '--max-failures', '150%'], '--max-failures is a share'],
      [['apps', 'push', 'x.wasm'], 'give the release a --version'],
      [['apps', 'push', join(dir, 'missing.wasm'), '--version', '1'], 'cannot read'],
      [['deployments', 'a', 'b'], 'takes no argument'],
    ] as [string[], string][]) {
      const r = await admin(...args)
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stderr).toContain(message)
    }
  })
})
