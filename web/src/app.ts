// The page's state and its two workers; panels read it and call its actions, and re-render on change.
import { type Remote, wrap } from 'comlink'
import type { AnalysisConfigInput } from '../../functions/domain/analysis-config.js'
import type { ImportApi } from './import/worker.js'
import type { ReplaySummary } from './replay/session.js'
import type { ReplayApi } from './replay/worker.js'
import type { Dataset } from './store/datasets.js'

export interface AppState {
  datasets: Dataset[]
  dataset: Dataset | undefined
  series: { deviceId: string; metric: string }[]
  device: string | undefined
  summary: ReplaySummary | undefined
  /** Time to load the open dataset's chunks from IndexedDB into the replay worker. */
  loadMs: number | undefined
  /** Timeline position (epoch ms) and whether it is playing. */
  cursor: number
  playing: boolean
  speed: number
  /** The x range shown by the charts; undefined shows everything. */
  view: { from: number; to: number } | undefined
  config: AnalysisConfigInput
  error: string | undefined
  busy: string | undefined
}

export class App {
  readonly importer: Remote<ImportApi>
  readonly replay: Remote<ReplayApi>
  state: AppState = {
    datasets: [],
    dataset: undefined,
    series: [],
    device: undefined,
    summary: undefined,
    loadMs: undefined,
    cursor: 0,
    playing: false,
    speed: 100,
    view: undefined,
    config: {},
    error: undefined,
    busy: undefined,
  }
  private readonly listeners: ((s: AppState) => void)[] = []

  constructor() {
    this.importer = wrap<ImportApi>(
      new Worker(new URL('./import/worker.ts', import.meta.url), { type: 'module' }),
    )
    this.replay = wrap<ReplayApi>(
      new Worker(new URL('./replay/worker.ts', import.meta.url), { type: 'module' }),
    )
  }

  onChange(listener: (s: AppState) => void): void {
    this.listeners.push(listener)
  }

  set(patch: Partial<AppState>): void {
    this.state = { ...this.state, ...patch }
    for (const l of this.listeners) l(this.state)
  }

  /** Runs an action, showing `busy` meanwhile and any failure as the page's error. */
  async task<T>(busy: string, action: () => Promise<T>): Promise<T | undefined> {
    this.set({ busy, error: undefined })
    try {
      return await action()
    } catch (e) {
      this.set({ error: e instanceof Error ? e.message : String(e) })
      return undefined
    } finally {
      this.set({ busy: undefined })
    }
  }

  async openDataset(id: string): Promise<void> {
    await this.task('Loading the dataset…', async () => {
      this.set({ playing: false })
      const { dataset, series, loadMs } = await this.replay.open(id)
      const summary = await this.replay.runAll()
      this.set({
        dataset,
        series,
        device: series[0]?.deviceId ?? dataset.devices[0],
        summary,
        loadMs,
        cursor: dataset.last,
        view: undefined,
      })
    })
  }

  async applyConfig(config: AnalysisConfigInput): Promise<void> {
    await this.task('Re-running the detectors…', async () => {
      const summary = await this.replay.configure(config)
      this.set({ config, summary: summary ?? this.state.summary, cursor: this.state.dataset?.last ?? 0 })
    })
  }
}
