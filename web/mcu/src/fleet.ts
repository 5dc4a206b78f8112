// The page's side of the MCU shards: a few Web Workers, each running many MCUs (firmware/browser/
// mcu-shard.ts), driven with comlink. MCU i lives in shard i % shards. Nothing here runs an agent: the
// main thread only asks the shards for figures a few times a second and draws them.
import * as Comlink from 'comlink'
import type {
  FaultRequest,
  McuAction,
  McuSummary,
  McuView,
  SensorChoice,
  Shard,
  ShardConfig,
  ShardCounts,
} from '../../../firmware/browser/mcu-shard.js'

export interface StartRequest {
  enrolmentToken: string
  devices: number
  server: string
  sensor: SensorChoice | 'mixed'
  rateHz: number
  batchMs: number
}

export interface FleetCounts extends Omit<ShardCounts, 'appWorkers'> {
  shards: number
  appWorkers: number
}

export class Fleet {
  private readonly shards: Comlink.Remote<Shard>[] = []
  private configured: string | null = null
  size = 0

  constructor(
    readonly shardCount: number,
    readonly appWorkersPerShard: number,
  ) {
    for (let s = 0; s < shardCount; s++) {
      const worker = new Worker(new URL('./shard.worker.ts', import.meta.url), {
        type: 'module',
        name: `mcu-shard-${s}`,
      })
      this.shards.push(Comlink.wrap<Shard>(worker))
    }
  }

  private shardOf(index: number): Comlink.Remote<Shard> {
    return this.shards[index % this.shards.length]!
  }

  /** Adds `devices` MCUs after those running (indices continue), and starts them. */
  async start(r: StartRequest): Promise<number[]> {
    const config: ShardConfig = {
      server: r.server,
      enrolmentToken: r.enrolmentToken,
      rateHz: r.rateHz,
      batchMs: r.batchMs,
      appWorkers: this.appWorkersPerShard,
    }
    const key = JSON.stringify(config)
    if (this.configured !== key) {
      await Promise.all(this.shards.map((s) => s.configure(config)))
      this.configured = key
    }
    const indices = Array.from({ length: r.devices }, (_, i) => this.size + i)
    this.size += r.devices
    const per: { index: number; sensor: SensorChoice }[][] = this.shards.map(() => [])
    for (const index of indices) {
      const sensor: SensorChoice = r.sensor === 'mixed' ? (index % 2 ? 'env' : 'pump') : r.sensor
      per[index % this.shards.length]!.push({ index, sensor })
    }
    await Promise.all(this.shards.map((s, i) => s.add(per[i]!)))
    return indices
  }

  control(index: number, action: McuAction): Promise<void> {
    return this.shardOf(index).control(index, action)
  }

  fault(index: number, fault: FaultRequest): Promise<string> {
    return this.shardOf(index).fault(index, fault)
  }

  async counts(): Promise<FleetCounts> {
    const all = await Promise.all(this.shards.map((s) => s.counts()))
    const sum: FleetCounts = {
      shards: this.shards.length,
      started: 0,
      on: 0,
      enrolled: 0,
      connected: 0,
      readings: 0,
      acked: 0,
      outbox: 0,
      retries: 0,
      edgeAnomalies: 0,
      serverAnomalies: 0,
      apps: {},
      appWorkers: 0,
      wallTimeouts: 0,
      hostRestarts: 0,
    }
    for (const c of all) {
      for (const k of [
        'started',
        'on',
        'enrolled',
        'connected',
        'readings',
        'acked',
        'outbox',
        'retries',
        'edgeAnomalies',
        'serverAnomalies',
        'appWorkers',
        'wallTimeouts',
        'hostRestarts',
      ] as const)
        sum[k] += c[k]
      for (const [state, n] of Object.entries(c.apps)) sum.apps[state] = (sum.apps[state] ?? 0) + n
    }
    return sum
  }

  /** The views of these MCUs, in the order asked. */
  async views(indices: number[]): Promise<McuView[]> {
    const per = this.shards.map(() => [] as number[])
    for (const i of indices) per[i % this.shards.length]!.push(i)
    const got = await Promise.all(this.shards.map((s, k) => (per[k]!.length ? s.views(per[k]!) : [])))
    const byIndex = new Map(got.flat().map((v) => [v.index, v]))
    return indices.map((i) => byIndex.get(i)).filter((v): v is McuView => v !== undefined)
  }

  async list(): Promise<McuSummary[]> {
    const got = await Promise.all(this.shards.map((s) => s.list()))
    return got.flat().sort((a, b) => a.index - b.index)
  }
}
