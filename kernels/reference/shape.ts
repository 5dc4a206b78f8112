// Plain TypeScript reference of the shape detector (kernels/assembly/shape.ts), for tests only:
// block means scaled into the warm-up range, a window of the last 8 as bytes, fuzzy ART over boxes.
import type { DetectorParams } from '../host/params.js'

const BLOCKS = 8
const INPUT_SUM = 255 * BLOCKS

export class ReferenceShape {
  private lo = 0
  private hi = 0
  private sum = 0
  private fill = 0
  private mask = 0
  /** The last BLOCKS quantised block means, oldest first. */
  private window: number[] = []
  /** Each category: its box's low corner, then the complement of its high corner. */
  private categories: number[][] = []

  constructor(private readonly p: DetectorParams['shape']) {}

  /** `n` samples seen before x; the alarm's strength, or 0. */
  step(x: number, n: number): number {
    const p = this.p
    if (n < p.warmup) {
      if (n === 0 || x < this.lo) this.lo = x
      if (n === 0 || x > this.hi) this.hi = x
    }
    const masked = this.mask > 0
    if (masked) this.mask -= 1
    this.sum += x
    this.fill += 1
    if (this.fill < p.block) return 0
    const mean = this.sum / this.fill
    this.sum = 0
    this.fill = 0
    this.window.push(this.quantise(mean))
    if (this.window.length > BLOCKS) this.window.shift()
    if (this.window.length < BLOCKS) return 0

    // Most recent block first, as the kernel packs them; then the complements.
    const recent = [...this.window].reverse()
    const input = [...recent, ...recent.map((q) => 255 - q)]
    let chosen = -1
    let bestChoice = -1
    let closest = 0
    this.categories.forEach((w, j) => {
      const s = w.reduce((acc, wi, i) => acc + Math.min(wi, input[i]!), 0)
      closest = Math.max(closest, s)
      if (s >= p.vigilance * INPUT_SUM) {
        const choice = s / (0.01 + w.reduce((a, b) => a + b, 0))
        if (choice > bestChoice) {
          bestChoice = choice
          chosen = j
        }
      }
    })
    if (chosen >= 0) {
      const w = this.categories[chosen]!
      for (let i = 0; i < w.length; i++) w[i] = Math.min(w[i]!, input[i]!)
      return 0
    }
    if (this.categories.length < p.categories) this.categories.push(input)
    const match = closest / INPUT_SUM
    if (n + 1 < p.warmup || masked || match >= p.alarm) return 0
    this.mask = p.mask
    return Math.min(1 - match, 0.999)
  }

  private quantise(mean: number): number {
    if (!(this.hi > this.lo)) return 128
    const r = (mean - this.lo) / (this.hi - this.lo)
    return r > 0 ? (r < 1 ? Math.trunc(r * 255 + 0.5) : 255) : 0
  }
}
