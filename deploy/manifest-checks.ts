// What must agree between spin.toml and the files under deploy/. Each check returns the problems it
// found, one readable sentence each; an empty list means the check holds.
import { posix } from 'node:path'
import { parse as parseYaml } from 'yaml'
import {
  type Doc,
  field,
  isRecord,
  type K8sObject,
  list,
  type Manifests,
  parseTomlText,
  RUNTIME_CONFIG,
  record,
  SECRETS_EXAMPLE,
  SPIN_TOML,
  text,
} from './load-manifests.js'
import { bestRoute } from './spin-routes.js'

/** The component that runs the Hono app. */
export const APP_COMPONENT = 'edgewatch'
/** Paths the app serves (functions/routes/), one sample each. */
export const APP_ROUTES = [
  '/v1/ingest',
  '/v1/anomalies',
  '/v1/devices',
  '/v1/devices/pump-7/series/temp',
  '/v1/export',
  '/v1/dead-letters',
  '/healthz',
  '/readyz',
  '/metrics',
  '/openapi.json',
  '/docs',
]
export const KERNEL_INTERFACE = 'edgewatch:kernel/detect'
const BUILD_COMMAND = 'npm run build:spin'
const BUILD_WATCH = ['functions/**/*.ts', 'kernels/**/*.ts']
const SPIN_OUTPUT_DIR = 'dist/spin/'
/** Paths Spin answers itself (e.g. /.well-known/spin/health), before any trigger route. */
const SPIN_RESERVED = '/.well-known/spin'
const SPINAPP_API_VERSION = 'core.spinkube.dev/v1alpha1'
const EXECUTOR = 'containerd-shim-spin'
/** The port of the Service SpinKube creates for a SpinApp. */
const SPINKUBE_SERVICE_PORT = 80
/** The only key SpinKube reads from a `runtimeConfig.loadFromSecret` Secret. */
const RUNTIME_CONFIG_KEY = 'runtime-config.toml'
/** Key-value store types whose data lives in the pod, so replicas cannot share it. */
const POD_LOCAL_KV_TYPES = new Set(['spin'])

type Check = (m: Manifests) => string[]

const show = (v: unknown) => JSON.stringify(v)
const spinApps = (m: Manifests) => m.objects.filter((o) => o.kind === 'SpinApp')
const where = (o: K8sObject) => `${o.file}: ${o.kind} ${show(o.name)}`
const exampleSecrets = (m: Manifests) =>
  m.objects.filter((o) => o.kind === 'Secret' && o.file === SECRETS_EXAMPLE)
const secretKeys = (secret: K8sObject) =>
  new Set([...Object.keys(record(secret.body.data)), ...Object.keys(record(secret.body.stringData))])
const secretValue = (secret: K8sObject, key: string): string | undefined => {
  const plain = text(field(secret.body, 'stringData', key))
  if (plain !== undefined) return plain
  const encoded = text(field(secret.body, 'data', key))
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8')
}
const appVariables = (m: Manifests) => record(m.spin.variables)
const isRequired = (spec: unknown) => field(spec, 'required') === true
const isSecret = (spec: unknown) => field(spec, 'secret') === true
const components = (m: Manifests) => record(m.spin.component)

function sameData(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => sameData(v, b[i]))
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && sameData(a[k], b[k]))
  }
  return a === b
}

/** A relative path inside dist/spin/ that stays there once normalised. */
function underSpinOutput(path: string): boolean {
  const normal = posix.normalize(path)
  return (
    !posix.isAbsolute(path) && normal.startsWith(SPIN_OUTPUT_DIR) && normal === path && path.endsWith('.wasm')
  )
}

const manifest: Check = (m) => {
  const problems: string[] = []
  if (m.spin.spin_manifest_version !== 2)
    problems.push(`${SPIN_TOML}: spin_manifest_version is ${show(m.spin.spin_manifest_version)}, expected 2`)
  const name = field(m.spin, 'application', 'name')
  if (name !== APP_COMPONENT)
    problems.push(`${SPIN_TOML}: application.name is ${show(name)}, expected "edgewatch"`)
  const version = field(m.spin, 'application', 'version')
  if (version !== m.packageVersion)
    problems.push(
      `${SPIN_TOML}: application.version ${show(version)} differs from package.json ${show(m.packageVersion)}`,
    )
  if (!isRecord(components(m)[APP_COMPONENT])) problems.push(`${SPIN_TOML}: no [component.${APP_COMPONENT}]`)
  return problems
}

const build: Check = (m) => {
  const problems: string[] = []
  const b = field(components(m), APP_COMPONENT, 'build')
  const command = field(b, 'command')
  if (command !== BUILD_COMMAND)
    problems.push(
      `${SPIN_TOML}: component.${APP_COMPONENT}.build.command is ${show(command)}, expected "${BUILD_COMMAND}"`,
    )
  const watch = list(field(b, 'watch'))
  for (const glob of BUILD_WATCH)
    if (!watch.includes(glob))
      problems.push(`${SPIN_TOML}: component.${APP_COMPONENT}.build.watch lacks "${glob}"`)
  return problems
}

const wasmPaths: Check = (m) => {
  const problems: string[] = []
  for (const [id, component] of Object.entries(components(m))) {
    const source = field(component, 'source')
    if (typeof source !== 'string' || !underSpinOutput(source))
      problems.push(
        `${SPIN_TOML}: component.${id}.source ${show(source)} is not a .wasm file under ${SPIN_OUTPUT_DIR}`,
      )
    for (const [name, dep] of Object.entries(record(field(component, 'dependencies')))) {
      const path = field(dep, 'path')
      if (typeof path !== 'string' || !underSpinOutput(path))
        problems.push(
          `${SPIN_TOML}: dependency ${show(name)} of component.${id} must be a local { path = "${SPIN_OUTPUT_DIR}….wasm" }, found ${show(dep)}`,
        )
    }
  }
  const kernel = field(components(m), APP_COMPONENT, 'dependencies', KERNEL_INTERFACE)
  if (kernel === undefined)
    problems.push(`${SPIN_TOML}: component.${APP_COMPONENT} has no dependency for "${KERNEL_INTERFACE}"`)
  return problems
}

const capabilities: Check = (m) => {
  const problems: string[] = []
  const app = field(components(m), APP_COMPONENT)
  const hosts = list(field(app, 'allowed_outbound_hosts'))
  if (hosts.length > 0)
    problems.push(
      `${SPIN_TOML}: component.${APP_COMPONENT} allows outbound hosts ${show(hosts)}; it needs none`,
    )
  if (field(app, 'dependencies_inherit_configuration') === true)
    problems.push(`${SPIN_TOML}: component.${APP_COMPONENT} lets its dependencies inherit its permissions`)
  return problems
}

const routes: Check = (m) => {
  const problems: string[] = []
  const triggers = list(field(m.spin, 'trigger', 'http')).flatMap((t) => {
    const route = field(t, 'route')
    return typeof route === 'string' ? [{ route, component: field(t, 'component') }] : []
  })
  const probes = spinApps(m).flatMap((app) =>
    ['liveness', 'readiness'].flatMap((probe) => {
      const path = text(field(app.body, 'spec', 'checks', probe, 'httpGet', 'path'))
      return path === undefined ? [] : [{ app, probe, path }]
    }),
  )
  for (const path of new Set([...APP_ROUTES, ...probes.map((p) => p.path)])) {
    const hit = bestRoute(triggers, path)
    if (hit === undefined)
      problems.push(
        `${SPIN_TOML}: no [[trigger.http]] route matches ${path} (routes: ${show(triggers.map((t) => t.route))})`,
      )
    else if (hit.component !== APP_COMPONENT)
      problems.push(
        `${SPIN_TOML}: ${path} goes to component ${show(hit.component)} by route ${show(hit.route)}, not to "${APP_COMPONENT}"`,
      )
  }
  for (const { app, probe, path } of probes)
    if (!APP_ROUTES.includes(path) && !path.startsWith(SPIN_RESERVED))
      problems.push(
        `${where(app)} ${probe} probe path ${path} is not a route the app serves (${APP_ROUTES.join(', ')})`,
      )
  for (const t of triggers)
    if (t.route.startsWith(SPIN_RESERVED))
      problems.push(`${SPIN_TOML}: route ${show(t.route)} is reserved by Spin`)
  return problems
}

const spinVariables: Check = (m) => {
  const problems: string[] = []
  const declared = appVariables(m)
  for (const [name, spec] of Object.entries(declared)) {
    const hasDefault = typeof field(spec, 'default') === 'string'
    if (hasDefault === isRequired(spec))
      problems.push(
        `${SPIN_TOML}: variable ${name} must have either a string default or required = true, not ${show(spec)}`,
      )
  }
  const mapped = record(field(components(m), APP_COMPONENT, 'variables'))
  const used = new Set<string>()
  for (const [name, value] of Object.entries(mapped))
    for (const ref of String(value).matchAll(/\{\{\s*([a-z0-9_]+)\s*\}\}/g)) {
      const variable = ref[1] ?? ''
      used.add(variable)
      if (!(variable in declared))
        problems.push(
          `${SPIN_TOML}: component.${APP_COMPONENT}.variables.${name} uses {{ ${variable} }}, which [variables] does not declare`,
        )
    }
  for (const name of Object.keys(declared))
    if (!used.has(name))
      problems.push(`${SPIN_TOML}: variable ${name} is not passed to component.${APP_COMPONENT}`)
  return problems
}

const spinAppVariables: Check = (m) => {
  const problems: string[] = []
  const declared = appVariables(m)
  for (const app of spinApps(m)) {
    const given = new Map<string, unknown>()
    for (const v of list(field(app.body, 'spec', 'variables'))) {
      const name = text(field(v, 'name')) ?? ''
      if (given.has(name)) problems.push(`${where(app)} sets variable ${show(name)} twice`)
      given.set(name, v)
      const spec = declared[name]
      if (spec === undefined) {
        problems.push(
          `${where(app)} sets variable ${show(name)}, unknown to ${SPIN_TOML} (known: ${Object.keys(declared).join(', ')})`,
        )
        continue
      }
      const value = field(v, 'value')
      const from = field(v, 'valueFrom')
      if ((value === undefined) === (from === undefined))
        problems.push(`${where(app)} variable ${name} needs exactly one of value and valueFrom`)
      if (value !== undefined && typeof value !== 'string')
        problems.push(`${where(app)} variable ${name} has a non-string value ${show(value)}: quote it`)
      if (isSecret(spec) && field(from, 'secretKeyRef') === undefined)
        problems.push(
          `${where(app)} variable ${name} is secret in ${SPIN_TOML}: take it from a Secret (valueFrom.secretKeyRef)`,
        )
      if (name === 'config' && typeof value === 'string') {
        let parsed: unknown
        try {
          parsed = JSON.parse(value)
        } catch {
          parsed = undefined
        }
        if (!isRecord(parsed)) problems.push(`${where(app)} variable config is not a JSON object: ${value}`)
      }
    }
    for (const [name, spec] of Object.entries(declared))
      if (isRequired(spec) && !given.has(name))
        problems.push(`${where(app)} does not set ${name}, which ${SPIN_TOML} requires`)
  }
  return problems
}

const secretRefs: Check = (m) => {
  const problems: string[] = []
  const secrets = exampleSecrets(m)
  for (const app of spinApps(m))
    for (const v of list(field(app.body, 'spec', 'variables'))) {
      const ref = field(v, 'valueFrom', 'secretKeyRef')
      if (ref === undefined) continue
      const name = text(field(ref, 'name'))
      const key = text(field(ref, 'key'))
      const secret = secrets.find((s) => s.name === name)
      if (secret === undefined)
        problems.push(
          `${where(app)} variable ${show(field(v, 'name'))} reads Secret ${show(name)}, which ${SECRETS_EXAMPLE} does not define`,
        )
      else if (key === undefined || !secretKeys(secret).has(key))
        problems.push(
          `${where(app)} variable ${show(field(v, 'name'))} reads key ${show(key)} that Secret ${show(name)} lacks`,
        )
    }
  return problems
}

const runtimeConfigSecret: Check = (m) => {
  const problems: string[] = []
  for (const app of spinApps(m)) {
    const name = text(field(app.body, 'spec', 'runtimeConfig', 'loadFromSecret'))
    if (name === undefined) {
      problems.push(
        `${where(app)} has no runtimeConfig.loadFromSecret: its pods would keep their data to themselves`,
      )
      continue
    }
    const secret = exampleSecrets(m).find((s) => s.name === name)
    if (secret === undefined) {
      problems.push(
        `${where(app)} loads its runtime config from Secret ${show(name)}, which ${SECRETS_EXAMPLE} does not define`,
      )
      continue
    }
    const toml = secretValue(secret, RUNTIME_CONFIG_KEY)
    if (toml === undefined) {
      problems.push(
        `${SECRETS_EXAMPLE}: Secret ${show(name)} has no key "${RUNTIME_CONFIG_KEY}", the only one SpinKube reads`,
      )
      continue
    }
    let inline: Doc
    try {
      inline = parseTomlText(toml, `${SECRETS_EXAMPLE} (Secret ${name})`)
    } catch (e) {
      problems.push((e as Error).message)
      continue
    }
    if (!sameData(inline, m.runtimeConfig))
      problems.push(
        `${SECRETS_EXAMPLE}: the runtime config in Secret ${show(name)} differs from ${RUNTIME_CONFIG}`,
      )
  }
  return problems
}

const runtimeConfigStores: Check = (m) => {
  const problems: string[] = []
  const app = field(components(m), APP_COMPONENT)
  const databases = list(field(app, 'sqlite_databases'))
  if (!databases.includes('default'))
    problems.push(`${SPIN_TOML}: component.${APP_COMPONENT}.sqlite_databases lacks "default"`)
  for (const label of databases) {
    const db = field(m.runtimeConfig, 'sqlite_database', String(label))
    if (db === undefined) {
      problems.push(`${RUNTIME_CONFIG}: no [sqlite_database.${label}] for the database the component lists`)
      continue
    }
    if (field(db, 'type') !== 'libsql')
      problems.push(
        `${RUNTIME_CONFIG}: sqlite_database.${label} has type ${show(field(db, 'type'))}, expected "libsql" (shared by every replica)`,
      )
    if (!/^https?:\/\/[^/\s]+/.test(text(field(db, 'url')) ?? ''))
      problems.push(
        `${RUNTIME_CONFIG}: sqlite_database.${label}.url ${show(field(db, 'url'))} must be an http:// or https:// address`,
      )
    if ((text(field(db, 'token')) ?? '') === '')
      problems.push(`${RUNTIME_CONFIG}: sqlite_database.${label} has no token`)
  }
  for (const label of list(field(app, 'key_value_stores'))) {
    const store = field(m.runtimeConfig, 'key_value_store', String(label))
    const type = field(store, 'type')
    if (store === undefined)
      problems.push(`${RUNTIME_CONFIG}: no [key_value_store.${label}] for the store the component lists`)
    else if (typeof type !== 'string' || POD_LOCAL_KV_TYPES.has(type))
      problems.push(
        `${RUNTIME_CONFIG}: key_value_store.${label} has type ${show(type)}, which replicas cannot share`,
      )
  }
  return problems
}

const spinApp: Check = (m) => {
  const problems: string[] = []
  const apps = spinApps(m)
  if (apps.length !== 1)
    problems.push(
      `deploy/: expected one SpinApp, found ${apps.length} (${apps.map((a) => a.file).join(', ')})`,
    )
  for (const app of apps) {
    const spec = record(app.body.spec)
    if (app.apiVersion !== SPINAPP_API_VERSION)
      problems.push(`${where(app)} has apiVersion ${show(app.apiVersion)}, expected "${SPINAPP_API_VERSION}"`)
    if (app.name !== APP_COMPONENT) problems.push(`${where(app)} should be named "${APP_COMPONENT}"`)
    if (spec.executor !== EXECUTOR)
      problems.push(`${where(app)} has executor ${show(spec.executor)}, expected "${EXECUTOR}"`)
    const tag = /:([^:/@]+)$/.exec(text(spec.image) ?? '')?.[1]
    if (tag !== m.packageVersion)
      problems.push(
        `${where(app)} image ${show(spec.image)} is not tagged with the package version ${m.packageVersion}`,
      )
    if (spec.enableAutoscaling === true ? spec.replicas !== undefined : !(Number(spec.replicas) >= 1))
      problems.push(`${where(app)}: set either replicas >= 1 or enableAutoscaling: true without replicas`)
    for (const kind of ['requests', 'limits'])
      for (const resource of ['cpu', 'memory'])
        if (field(spec, 'resources', kind, resource) === undefined)
          problems.push(`${where(app)} has no resources.${kind}.${resource}`)
  }
  return problems
}

const autoscaling: Check = (m) => {
  const problems: string[] = []
  const names = new Set(spinApps(m).map((a) => a.name))
  const scalers = m.objects.filter((o) => o.kind === 'HTTPScaledObject')
  if (scalers.length === 0) problems.push('deploy/: no HTTPScaledObject (scale to zero)')
  for (const s of scalers) {
    const ref = record(field(s.body, 'spec', 'scaleTargetRef'))
    if (!names.has(String(ref.name)))
      problems.push(
        `${where(s)} scales ${show(ref.name)}, but the SpinApp's Deployment is ${show([...names].join())}`,
      )
    if (!names.has(String(ref.service)))
      problems.push(
        `${where(s)} routes to Service ${show(ref.service)}, but the SpinApp's Service is ${show([...names].join())}`,
      )
    if ((ref.kind ?? 'Deployment') !== 'Deployment' || (ref.apiVersion ?? 'apps/v1') !== 'apps/v1')
      problems.push(`${where(s)} must target the apps/v1 Deployment that SpinKube creates`)
    if (ref.port !== SPINKUBE_SERVICE_PORT)
      problems.push(
        `${where(s)} uses port ${show(ref.port)}; SpinKube's Service listens on ${SPINKUBE_SERVICE_PORT}`,
      )
    const min = field(s.body, 'spec', 'replicas', 'min')
    const max = field(s.body, 'spec', 'replicas', 'max')
    if (min !== 0) problems.push(`${where(s)} has replicas.min ${show(min)}, expected 0 (scale to zero)`)
    if (!(typeof max === 'number' && max >= 1))
      problems.push(`${where(s)} has replicas.max ${show(max)}, expected >= 1`)
    const metric = Object.keys(record(field(s.body, 'spec', 'scalingMetric')))
    if (metric.length !== 1 || !['requestRate', 'concurrency'].includes(metric[0] ?? ''))
      problems.push(
        `${where(s)} needs exactly one scalingMetric (requestRate or concurrency), found ${show(metric)}`,
      )
  }
  for (const o of m.objects.filter((o) => o.kind === 'ScaledObject')) {
    const cpu = list(field(o.body, 'spec', 'triggers')).some((t) => field(t, 'type') === 'cpu')
    if (cpu && !(Number(field(o.body, 'spec', 'minReplicaCount')) >= 1))
      problems.push(
        `${where(o)} has a cpu trigger, which cannot scale from zero: minReplicaCount must be >= 1`,
      )
  }
  return problems
}

/** Applies a JSON 6902 patch (add, replace, remove), enough for the kustomization's own patch. */
function applyJsonPatch(doc: Doc, ops: unknown[]): string | undefined {
  for (const op of ops) {
    const path = (text(field(op, 'path')) ?? '').split('/').slice(1)
    const last = path.pop()
    let parent: unknown = doc
    for (const key of path) parent = field(parent, key)
    if (!isRecord(parent) || last === undefined) return `path ${show(field(op, 'path'))} does not exist`
    const kind = field(op, 'op')
    if (kind === 'remove') {
      if (!(last in parent)) return `cannot remove missing ${show(field(op, 'path'))}`
      delete parent[last]
    } else if (kind === 'add' || kind === 'replace') parent[last] = field(op, 'value')
    else return `unsupported op ${show(kind)}`
  }
  return undefined
}

const kustomization: Check = (m) => {
  const problems: string[] = []
  for (const k of m.objects.filter((o) => o.kind === 'Kustomization')) {
    const resources = list(k.body.resources).map(String)
    for (const r of resources)
      if (!m.deployFiles.includes(r)) problems.push(`${k.file}: resource ${show(r)} is not a file in deploy/`)
    const included = m.objects.filter((o) => resources.includes(posix.basename(o.file)))
    const apps = included.filter((o) => o.kind === 'SpinApp')
    if (!included.some((o) => o.kind === 'HTTPScaledObject'))
      problems.push(`${k.file} does not include the HTTPScaledObject`)
    if (apps.length === 0) problems.push(`${k.file} does not include the SpinApp`)
    for (const app of apps) {
      const patched = structuredClone(app.body)
      for (const p of list(k.body.patches)) {
        const target = record(field(p, 'target'))
        const [group, version] = app.apiVersion.split('/')
        const hits =
          (target.kind ?? app.kind) === app.kind &&
          (target.name ?? app.name) === app.name &&
          (target.group ?? group) === group &&
          (target.version ?? version) === version
        if (!hits) continue
        const ops: unknown = parseYaml(text(field(p, 'patch')) ?? '', { version: '1.1' })
        if (!Array.isArray(ops)) {
          problems.push(`${k.file}: only JSON 6902 patches (a list of operations) are checked here`)
          continue
        }
        const error = applyJsonPatch(patched, ops)
        if (error !== undefined)
          problems.push(`${k.file}: the patch of SpinApp ${show(app.name)} fails: ${error}`)
      }
      const spec = record(patched.spec)
      if (spec.enableAutoscaling !== true || spec.replicas !== undefined)
        problems.push(
          `${k.file}: the SpinApp it deploys must have enableAutoscaling: true and no replicas, so that KEDA owns the replica count (got enableAutoscaling ${show(spec.enableAutoscaling)}, replicas ${show(spec.replicas)})`,
        )
    }
  }
  return problems
}

/** `kubectl create secret generic NAME --from-literal=KEY=… --from-file=KEY=…` in the instructions. */
const secretCommands: Check = (m) => {
  const problems: string[] = []
  const secrets = exampleSecrets(m)
  const mentioned = new Set<string>()
  for (const { file, text: body } of m.instructions) {
    const joined = body.replace(/\\\r?\n[ \t]*#?[ \t]*/g, ' ')
    for (const cmd of joined.matchAll(/kubectl create secret generic ([\w.-]+)([^\n]*)/g)) {
      const name = cmd[1] ?? ''
      mentioned.add(name)
      const secret = secrets.find((s) => s.name === name)
      if (secret === undefined) {
        problems.push(
          `${file}: \`kubectl create secret generic ${name}\` creates a Secret that ${SECRETS_EXAMPLE} does not define`,
        )
        continue
      }
      for (const opt of (cmd[2] ?? '').matchAll(/--from-(literal|file)=([^\s=]+)(=\S*)?/g)) {
        const key = opt[1] === 'file' && opt[3] === undefined ? posix.basename(opt[2] ?? '') : (opt[2] ?? '')
        if (!secretKeys(secret).has(key))
          problems.push(
            `${file}: the command for Secret ${name} sets key ${show(key)}, which that Secret in ${SECRETS_EXAMPLE} lacks`,
          )
      }
    }
  }
  for (const s of secrets)
    if (!mentioned.has(s.name))
      problems.push(
        `deploy/: no instructions create Secret ${show(s.name)} (kubectl create secret generic …)`,
      )
  return problems
}

/** Every check, by a short id, with the sentence it stands for. */
export const checks = {
  manifest: { title: 'spin.toml is a version 2 manifest of edgewatch', run: manifest },
  build: { title: 'the build command is npm run build:spin', run: build },
  wasmPaths: { title: 'component and dependency Wasm files are under dist/spin/', run: wasmPaths },
  capabilities: {
    title: 'the component asks for no network and lends nothing to its dependencies',
    run: capabilities,
  },
  routes: { title: "the trigger routes cover the app's routes and probes", run: routes },
  spinVariables: {
    title: 'spin.toml variables are declared once and all reach the component',
    run: spinVariables,
  },
  spinAppVariables: {
    title: 'the SpinApp sets exactly known variables, every required one included',
    run: spinAppVariables,
  },
  secretRefs: { title: 'secret refs point to keys of Secrets in secrets.example.yaml', run: secretRefs },
  runtimeConfigSecret: {
    title: 'the runtime config Secret holds deploy/runtime-config.toml',
    run: runtimeConfigSecret,
  },
  runtimeConfigStores: {
    title: "the runtime config backs the component's stores with shared services",
    run: runtimeConfigStores,
  },
  spinApp: { title: 'the SpinApp is valid for SpinKube', run: spinApp },
  autoscaling: { title: 'the HTTPScaledObject scales the SpinApp to zero', run: autoscaling },
  kustomization: { title: 'the kustomization hands the replica count to KEDA', run: kustomization },
  secretCommands: {
    title: 'kubectl commands in the instructions create the Secrets the SpinApp reads',
    run: secretCommands,
  },
} satisfies Record<string, { title: string; run: Check }>

export type CheckId = keyof typeof checks
