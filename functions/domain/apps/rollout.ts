// The rollout of a deployment, as a pure function of its devices' reports and the time: batch by
// batch, each baked for a while, halted (and its devices sent back to the release they ran before)
// when failures in a batch pass the threshold or the health gate sees more devices with anomalies
// after the release than before. Pure, so a fake clock drives it in tests and every runtime gets
// the same answer from the same rows.

export const DEPLOYMENT_STATES = [
  'rolling',
  'paused',
  'halted',
  'succeeded',
  'failed',
  'aborted',
  'rolled_back',
] as const
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number]

/** What a device reports for an app, plus `deferred` (derived: offline, not yet running it). */
export const DEVICE_APP_STATES = [
  'pending',
  'downloading',
  'starting',
  'running',
  'failed',
  'stopped',
  'rolled_back',
  'deferred',
] as const
export type DeviceAppState = (typeof DEVICE_APP_STATES)[number]

export interface Rollout {
  /** Cumulative device counts: batch k releases to the first batches[k] devices. The last is all. */
  batches: number[]
  /** How long a completed batch runs before the next one starts. */
  bakeMs: number
  /** Share of a batch's devices that may fail (0: none) before the deployment halts. */
  maxFailures: number
  /**
   * The health gate: halt when the share of the batch's devices with anomalies in the `bakeMs`
   * after they started the release exceeds the share in the `bakeMs` before the deployment by more
   * than `margin`. Null: off.
   */
  healthGate: { margin: number } | null
}

export interface DeploymentProgress {
  state: DeploymentState
  /** The batch being rolled out (index into rollout.batches). */
  batch: number
  /** When the current batch completed (every device running, failed within the threshold, or deferred). */
  batchDoneAt: number | null
  reason: string | null
}

export interface DeviceReport {
  deviceId: string
  /** Its batch index: released once the deployment's batch reaches it. */
  batch: number
  /** What it last reported for this deployment's release (`pending` until it reports). */
  state: DeviceAppState
  reason: string | null
  /** When it first reported `running`. */
  runningAt: number | null
  /** Whether it is connected now: an offline device is deferred, never failed. */
  online: boolean
}

/** Anomaly shares for the health gate: devices with anomalies before the deployment, and after. */
export type HealthCheck = (devices: DeviceReport[]) => Promise<{ before: number; after: number }>

/** The state a device's app shows: a device offline that is not running the release is deferred. */
export function shownState(d: DeviceReport): DeviceAppState {
  if (!d.online && d.state !== 'running' && d.state !== 'failed') return 'deferred'
  return d.state
}

const FINISHED: readonly DeploymentState[] = ['halted', 'succeeded', 'failed', 'aborted', 'rolled_back']

export function isFinished(state: DeploymentState): boolean {
  return FINISHED.includes(state)
}

/** Moves a rolling deployment as far as its devices' reports allow at `now`. */
export async function advance(
  p: DeploymentProgress,
  rollout: Rollout,
  devices: DeviceReport[],
  now: number,
  health: HealthCheck,
): Promise<DeploymentProgress> {
  let progress = p
  // A batch may complete, bake and hand over to the next in one call when nothing waits (two steps
  // a batch: noting it done, then moving on).
  for (let guard = 0; progress.state === 'rolling' && guard <= 2 * rollout.batches.length + 1; guard++) {
    const next = await step(progress, rollout, devices, now, health)
    if (next === progress) break
    progress = next
  }
  return progress
}

async function step(
  p: DeploymentProgress,
  rollout: Rollout,
  devices: DeviceReport[],
  now: number,
  health: HealthCheck,
): Promise<DeploymentProgress> {
  const batch = devices.filter((d) => d.batch === p.batch)
  const failed = batch.filter((d) => d.state === 'failed')
  const allowed = Math.floor(rollout.maxFailures * batch.length)
  if (failed.length > allowed) {
    const first = failed[0]!
    const why = `${failed.length} of ${batch.length} devices in batch ${p.batch + 1} failed (${first.deviceId}: ${first.reason ?? 'no reason'})`
    return { ...p, state: 'halted', reason: why }
  }
  const settled = batch.every(
    (d) => d.state === 'running' || d.state === 'failed' || shownState(d) === 'deferred',
  )
  if (!settled) return p
  if (p.batchDoneAt === null) return { ...p, batchDoneAt: now }
  if (now - p.batchDoneAt < rollout.bakeMs) return p
  if (rollout.healthGate) {
    const running = batch.filter((d) => d.state === 'running')
    if (running.length > 0) {
      const { before, after } = await health(running)
      if (after > before + rollout.healthGate.margin) {
        const share = (x: number) => `${Math.round(x * 100)}%`
        return {
          ...p,
          state: 'halted',
          reason: `health gate: ${share(after)} of batch ${p.batch + 1}'s devices had anomalies after the release, ${share(before)} before`,
        }
      }
    }
  }
  if (p.batch + 1 < rollout.batches.length) return { ...p, batch: p.batch + 1, batchDoneAt: null }
  // The end waits for devices that were offline: they catch up when they return.
  if (devices.some((d) => d.state !== 'running' && d.state !== 'failed')) return p
  const failures = devices.filter((d) => d.state === 'failed').length
  if (failures === 0) return { ...p, state: 'succeeded', reason: null }
  return {
    ...p,
    state: 'failed',
    reason: `${failures} of ${devices.length} devices failed, within the threshold`,
  }
}

export type Control = 'pause' | 'resume' | 'abort' | 'rollback'

/** An operator's action on a deployment: its new progress, or why it cannot be done now. */
export function control(p: DeploymentProgress, action: Control): DeploymentProgress | { refused: string } {
  const refused = (why: string) => ({ refused: `cannot ${action} a deployment that is ${p.state}${why}` })
  switch (action) {
    case 'pause':
      return p.state === 'rolling' ? { ...p, state: 'paused' } : refused('')
    case 'resume':
      return p.state === 'paused' ? { ...p, state: 'rolling' } : refused('')
    case 'abort':
      // Devices already given the release keep it; the others stay on the release they ran.
      return p.state === 'rolling' || p.state === 'paused'
        ? { ...p, state: 'aborted', reason: 'aborted by an operator' }
        : refused(p.state === 'halted' ? ': its devices already run the release they ran before' : '')
    case 'rollback':
      return p.state === 'rolled_back'
        ? refused('')
        : { ...p, state: 'rolled_back', reason: 'rolled back by an operator' }
  }
}

/** Batch indexes for `n` devices in order: device i is in the first batch whose cumulative size covers it. */
export function assignBatches(batches: number[], n: number): number[] {
  const out: number[] = []
  let b = 0
  for (let i = 0; i < n; i++) {
    while (b < batches.length - 1 && i >= batches[b]!) b++
    out.push(b)
  }
  return out
}

/** Cumulative batch sizes from a spec such as [1, "10%", "100%"], for n devices (the last covers all). */
export function resolveBatches(spec: (number | string)[], n: number): number[] {
  const sizes = spec.map((s) => {
    if (typeof s === 'number') return Math.min(n, Math.max(1, Math.floor(s)))
    const percent = Number(s.replace(/%$/, ''))
    return Math.min(n, Math.max(1, Math.ceil((percent / 100) * n)))
  })
  const out: number[] = []
  for (const size of sizes) if (out.length === 0 || size > out[out.length - 1]!) out.push(size)
  if (out.length === 0 || out[out.length - 1]! < n) out.push(n)
  return out
}

/**
 * Which release a device should run for the newest deployment of an app name that includes it: the
 * deployment's once its batch is released (and the deployment was not halted or rolled back), else
 * the one it ran before (null: none).
 */
export function desiredRelease(row: {
  state: DeploymentState
  currentBatch: number
  batch: number
  appId: string
  previousAppId: string | null
}): string | null {
  if (row.state === 'halted' || row.state === 'rolled_back') return row.previousAppId
  return row.batch <= row.currentBatch ? row.appId : row.previousAppId
}
