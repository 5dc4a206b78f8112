import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { loadManifests, parseYamlDocuments } from './load-manifests.js'
import { type CheckId, checks } from './manifest-checks.js'
import { bestRoute, routeMatches } from './spin-routes.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const ids = Object.keys(checks) as CheckId[]

describe('the deploy manifests agree', () => {
  const manifests = loadManifests(root)

  it.each(ids.map((id) => [checks[id].title, id] as const))('%s', (_title, id) => {
    expect(checks[id].run(manifests)).toEqual([])
  })

  it('reads every YAML document under deploy/', () => {
    expect(manifests.objects.map((o) => `${o.file} ${o.kind}/${o.name}`)).toEqual(
      expect.arrayContaining([
        'deploy/spinapp.yaml SpinApp/edgewatch',
        'deploy/secrets.example.yaml Secret/edgewatch-secrets',
        'deploy/secrets.example.yaml Secret/edgewatch-runtime-config',
        'deploy/autoscaling.yaml HTTPScaledObject/edgewatch',
        'deploy/kustomization.yaml Kustomization/',
      ]),
    )
  })
})

// Every check must be able to fail. Each case breaks one file the way a person might (one edit of its
// text), and expects the check to say so.

type Edit = (text: string) => string
/** What is broken, in which file, how, and what the check must answer. */
type Case = [what: string, file: string, edit: Edit, says: RegExp]

/** Replaces the one occurrence of `from`; fails if there is none or more than one. */
const swap =
  (from: string | RegExp, to: string): Edit =>
  (text) => {
    const hits =
      typeof from === 'string'
        ? text.split(from).length - 1
        : (text.match(new RegExp(from, 'g'))?.length ?? 0)
    if (hits !== 1) throw new Error(`expected one ${from} to replace, found ${hits}`)
    return text.replace(from, to)
  }
const append =
  (more: string): Edit =>
  (text) =>
    text + more

const SPIN = 'spin.toml'
const APP = 'deploy/spinapp.yaml'
const SECRETS = 'deploy/secrets.example.yaml'
const RC = 'deploy/runtime-config.toml'
const SCALE = 'deploy/autoscaling.yaml'
const KUST = 'deploy/kustomization.yaml'
const README = 'deploy/README.md'

const CPU_AT_ZERO = `---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: edgewatch-cpu
spec:
  scaleTargetRef:
    name: edgewatch
  minReplicaCount: 0
  triggers:
    - type: cpu
      metadata:
        value: "60"
`

const breaking: { [id in CheckId]: Case[] } = {
  manifest: [
    [
      'manifest version 1',
      SPIN,
      swap('spin_manifest_version = 2', 'spin_manifest_version = 1'),
      /spin_manifest_version is 1, expected 2/,
    ],
    [
      'version drifts from package.json',
      SPIN,
      swap('version = "0.1.0"', 'version = "0.2.0"'),
      /application.version "0.2.0" differs from package.json/,
    ],
  ],
  build: [
    [
      'other command',
      SPIN,
      swap('command = "npm run build:spin"', 'command = "npm run build"'),
      /build.command is "npm run build", expected/,
    ],
    ['kernels not watched', SPIN, swap(', "kernels/**/*.ts"', ''), /watch lacks "kernels\/\*\*\/\*.ts"/],
  ],
  wasmPaths: [
    [
      'source elsewhere',
      SPIN,
      swap('"dist/spin/edgewatch.wasm"', '"build/edgewatch.wasm"'),
      /source "build\/edgewatch.wasm" is not a .wasm file under dist\/spin\//,
    ],
    [
      'dependency escaping dist/spin',
      SPIN,
      swap('"dist/spin/kernel.wasm"', '"dist/spin/../kernel.wasm"'),
      /dependency "edgewatch:kernel\/detect" .* must be a local/,
    ],
    [
      'dependency from a registry',
      SPIN,
      swap('{ path = "dist/spin/kernel.wasm" }', '{ package = "edgewatch:kernel", version = "0.1.0" }'),
      /must be a local/,
    ],
    [
      'other interface',
      SPIN,
      swap('"edgewatch:kernel/detect" =', '"edgewatch:kernel/score" ='),
      /has no dependency for "edgewatch:kernel\/detect"/,
    ],
  ],
  capabilities: [
    [
      'outbound host',
      SPIN,
      swap('allowed_outbound_hosts = []', 'allowed_outbound_hosts = ["https://*:*"]'),
      /allows outbound hosts/,
    ],
    [
      'kernel inherits permissions',
      SPIN,
      swap('inherit_configuration = false', 'inherit_configuration = true'),
      /lets its dependencies inherit/,
    ],
  ],
  routes: [
    [
      'route too narrow',
      SPIN,
      swap('route = "/..."', 'route = "/v1/..."'),
      /no \[\[trigger.http\]\] route matches \/healthz/,
    ],
    [
      'route to another component',
      SPIN,
      append('\n[[trigger.http]]\nroute = "/metrics"\ncomponent = "other"\n'),
      /\/metrics goes to component "other"/,
    ],
    [
      'reserved route',
      SPIN,
      append('\n[[trigger.http]]\nroute = "/.well-known/spin/..."\ncomponent = "edgewatch"\n'),
      /is reserved by Spin/,
    ],
    [
      'probe on a path the app lacks',
      APP,
      swap('path: /readyz', 'path: /ready'),
      /readiness probe path \/ready is not a route the app serves/,
    ],
  ],
  spinVariables: [
    [
      'neither default nor required',
      SPIN,
      swap('retention = { default = "7d" }', 'retention = { description = "kept" }'),
      /variable retention must have either a string default or required = true/,
    ],
    [
      'template typo',
      SPIN,
      swap('"{{ retention }}"', '"{{ retension }}"'),
      /uses \{\{ retension \}\}, which \[variables\] does not declare/,
    ],
    [
      'variable not passed on',
      SPIN,
      swap('body_limit = "{{ body_limit }}"\n', ''),
      /variable body_limit is not passed to component.edgewatch/,
    ],
  ],
  spinAppVariables: [
    [
      'required variable missing',
      APP,
      swap(/ {4}- name: admin_token\n( {6}.*\n){4}/, ''),
      /does not set admin_token, which spin.toml requires/,
    ],
    [
      'unknown variable',
      APP,
      swap('- name: retention', '- name: retention_days'),
      /sets variable "retention_days", unknown to spin.toml/,
    ],
    [
      'secret as a plain value',
      APP,
      swap(
        / {6}valueFrom:\n {8}secretKeyRef:\n {10}name: edgewatch-secrets\n {10}key: ingest-token/,
        '      value: hunter2',
      ),
      /variable ingest_token is secret in spin.toml/,
    ],
    ['config not JSON', APP, swap('value: "{}"', 'value: "{rules}"'), /variable config is not a JSON object/],
    ['unquoted YAML 1.1 boolean', APP, swap('value: 7d', 'value: on'), /non-string value true/],
  ],
  secretRefs: [
    [
      'Secret name typo',
      APP,
      swap(
        'name: edgewatch-secrets\n          key: admin-token',
        'name: edgewatch-secret\n          key: admin-token',
      ),
      /reads Secret "edgewatch-secret", which deploy\/secrets.example.yaml does not define/,
    ],
    [
      'key missing from the Secret',
      SECRETS,
      swap('ingest-token: REPLACE_ME', 'ingest_token: REPLACE_ME'),
      /reads key "ingest-token" that Secret "edgewatch-secrets" lacks/,
    ],
  ],
  runtimeConfigSecret: [
    [
      'other Secret name',
      APP,
      swap('loadFromSecret: edgewatch-runtime-config', 'loadFromSecret: edgewatch-config'),
      /Secret "edgewatch-config", which deploy\/secrets.example.yaml does not define/,
    ],
    [
      'no runtime config',
      APP,
      swap(/ {2}runtimeConfig:\n {4}loadFromSecret: edgewatch-runtime-config\n/, ''),
      /has no runtimeConfig.loadFromSecret/,
    ],
    [
      'wrong key in the Secret',
      SECRETS,
      swap('  runtime-config.toml: |', '  runtime_config.toml: |'),
      /has no key "runtime-config.toml"/,
    ],
    [
      'copies drift apart',
      RC,
      swap('type = "redis"', 'type = "azure_cosmos"'),
      /differs from deploy\/runtime-config.toml/,
    ],
  ],
  runtimeConfigStores: [
    [
      'database in a pod-local file',
      RC,
      swap('type = "libsql"', 'type = "spin"'),
      /sqlite_database.default has type "spin", expected "libsql"/,
    ],
    [
      'database not declared',
      RC,
      swap('[sqlite_database.default]', '[sqlite_database.records]'),
      /no \[sqlite_database.default\]/,
    ],
    [
      'url without scheme',
      RC,
      swap('"https://REPLACE_ME.libsql.example.com"', '"REPLACE_ME.libsql.example.com"'),
      /url "REPLACE_ME.libsql.example.com" must be an http:\/\/ or https:\/\/ address/,
    ],
    ['no token', RC, swap('token = "REPLACE_ME_LIBSQL_TOKEN"\n', ''), /sqlite_database.default has no token/],
    [
      'store in a pod-local file',
      RC,
      swap('type = "redis"', 'type = "spin"'),
      /key_value_store.default has type "spin", which replicas cannot share/,
    ],
    [
      'component without the database',
      SPIN,
      swap('sqlite_databases = ["default"]', 'sqlite_databases = []'),
      /sqlite_databases lacks "default"/,
    ],
  ],
  spinApp: [
    [
      'old API group',
      APP,
      swap('core.spinkube.dev/v1alpha1', 'core.spinoperator.dev/v1alpha1'),
      /apiVersion "core.spinoperator.dev\/v1alpha1"/,
    ],
    [
      'other executor',
      APP,
      swap('executor: containerd-shim-spin', 'executor: spintainer'),
      /executor "spintainer"/,
    ],
    [
      'image tag drifts',
      APP,
      swap('edgewatch:0.1.0', 'edgewatch:latest'),
      /is not tagged with the package version/,
    ],
    [
      'replicas with autoscaling',
      APP,
      swap('replicas: 2', 'replicas: 2\n  enableAutoscaling: true'),
      /set either replicas >= 1 or enableAutoscaling/,
    ],
    ['no replicas at all', APP, swap('  replicas: 2\n', ''), /set either replicas >= 1 or enableAutoscaling/],
    ['no memory limit', APP, swap('      memory: 512Mi\n', ''), /no resources.limits.memory/],
  ],
  autoscaling: [
    [
      'wrong Deployment',
      SCALE,
      swap('    name: edgewatch\n    service', '    name: edgewatch-app\n    service'),
      /scales "edgewatch-app"/,
    ],
    [
      'wrong Service',
      SCALE,
      swap('service: edgewatch', 'service: edgewatch-svc'),
      /routes to Service "edgewatch-svc"/,
    ],
    [
      'SpinApp renamed alone',
      APP,
      swap('  name: edgewatch\n  labels', '  name: edgewatch-prod\n  labels'),
      /scales "edgewatch", but the SpinApp's Deployment is "edgewatch-prod"/,
    ],
    [
      'container port instead of the Service port',
      SCALE,
      swap('port: 80', 'port: 3000'),
      /uses port 3000; SpinKube's Service listens on 80/,
    ],
    ['minimum above zero', SCALE, swap('min: 0', 'min: 1'), /replicas.min 1, expected 0/],
    [
      'two scaling metrics',
      SCALE,
      swap('      window: 1m\n', '      window: 1m\n    concurrency:\n      targetValue: 10\n'),
      /exactly one scalingMetric/,
    ],
    ['CPU trigger at zero', SCALE, append(CPU_AT_ZERO), /cpu trigger, which cannot scale from zero/],
  ],
  kustomization: [
    [
      'replicas kept',
      KUST,
      swap(/ {6}- op: remove\n {8}path: \/spec\/replicas\n/, ''),
      /must have enableAutoscaling: true and no replicas/,
    ],
    [
      'patch aimed elsewhere',
      KUST,
      swap('      name: edgewatch', '      name: edgewatch-old'),
      /must have enableAutoscaling: true and no replicas/,
    ],
    [
      'missing resource',
      KUST,
      swap('  - autoscaling.yaml', '  - scaling.yaml'),
      /resource "scaling.yaml" is not a file in deploy\//,
    ],
  ],
  secretCommands: [
    [
      'key typo in the README',
      README,
      swap('--from-literal=admin-token=', '--from-literal=admin_token='),
      /sets key "admin_token", which that Secret in deploy\/secrets.example.yaml lacks/,
    ],
    [
      'Secret name typo in the README',
      README,
      swap('generic edgewatch-runtime-config', 'generic edgewatch-runtime'),
      /creates a Secret that deploy\/secrets.example.yaml does not define/,
    ],
    [
      'Secret nobody creates',
      SECRETS,
      append('---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: edgewatch-extra\n'),
      /no instructions create Secret "edgewatch-extra"/,
    ],
  ],
}

describe('each check catches a broken manifest', () => {
  const cases = ids.flatMap((id) =>
    breaking[id].map(([what, ...rest]) => [checks[id].title, what, id, ...rest] as const),
  )

  it.each(cases)('%s: %s', (_title, _what, id, file, edit, says) => {
    const before = readFileSync(join(root, file), 'utf8')
    const after = edit(before)
    expect(after).not.toBe(before)
    expect(checks[id].run(loadManifests(root, { [file]: after })).join('\n')).toMatch(says)
  })

  it('has a breaking case for every check', () => {
    expect(ids.filter((id) => (breaking[id] ?? []).length === 0)).toEqual([])
  })
})

describe('Spin route matching', () => {
  it.each([
    ['/...', '/', true],
    ['/...', '/v1/devices/pump-7/series/temp', true],
    ['/v1/...', '/v1', true],
    ['/v1/...', '/v1/ingest', true],
    ['/v1/...', '/healthz', false],
    ['/healthz', '/healthz', true],
    ['/healthz', '/healthz/deep', false],
    ['/v1/devices/:id/series/:metric', '/v1/devices/pump-7/series/temp', true],
    ['/v1/devices/:id/series/:metric', '/v1/devices/pump-7/series', false],
    ['/v1/anomalies', '/v1/anomalies?limit=20', true],
  ])('%s matches %s: %s', (route, path, expected) => {
    expect(routeMatches(route, path)).toBe(expected)
  })

  it('prefers the exact route, then the longest prefix', () => {
    const routes = [{ route: '/...' }, { route: '/v1/...' }, { route: '/v1/ingest' }]
    expect(bestRoute(routes, '/v1/ingest')?.route).toBe('/v1/ingest')
    expect(bestRoute(routes, '/v1/anomalies')?.route).toBe('/v1/...')
    expect(bestRoute(routes, '/metrics')?.route).toBe('/...')
  })
})

describe('the YAML reader', () => {
  it('reads booleans as Kubernetes does (YAML 1.1)', () => {
    expect(parseYamlDocuments('a: on\nb: "on"\n', 'x.yaml')).toEqual([{ a: true, b: 'on' }])
  })

  it('skips empty documents and names the file of a broken one', () => {
    expect(parseYamlDocuments('# only a comment\n---\nkind: A\n---\n', 'x.yaml')).toEqual([{ kind: 'A' }])
    expect(() => parseYamlDocuments('a: [1, 2\n', 'deploy/x.yaml')).toThrow(
      /deploy\/x.yaml is not valid YAML/,
    )
  })
})
