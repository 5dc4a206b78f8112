// Seeded randomness for the simulated sensors: mulberry32 for uniforms, Box-Muller for Gaussians, and a
// string hash so a device id can name its own stream. Every sensor owns one Random, so a device's readings
// depend only on its seed and the times it is read at, never on how many other devices share the process.
// Plain arithmetic on 32-bit integers: the same numbers in Node, a browser worker or any other JS engine.

export interface Random {
  /** Uniform in [0, 1). */
  next(): number
  /** Standard normal, N(0, 1). */
  gaussian(): number
}

/** A seeded stream: mulberry32 (period 2^32), Gaussians by Box-Muller using both values of each pair. */
export function createRandom(seed: number): Random {
  return new Mulberry32(seed)
}

class Mulberry32 implements Random {
  private a: number
  private spare = 0
  private hasSpare = false

  constructor(seed: number) {
    this.a = seed >>> 0
  }

  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0
    let t = this.a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  gaussian(): number {
    if (this.hasSpare) {
      this.hasSpare = false
      return this.spare
    }
    // 1 - u lies in (0, 1], so the logarithm is finite.
    const r = Math.sqrt(-2 * Math.log(1 - this.next()))
    const theta = 2 * Math.PI * this.next()
    this.spare = r * Math.sin(theta)
    this.hasSpare = true
    return r * Math.cos(theta)
  }
}

/** FNV-1a over the UTF-16 code units of `text`, mixed with `salt`: a 32-bit seed named by a device id. */
export function seedFrom(text: string, salt = 0): number {
  let h = (0x811c9dc5 ^ salt) >>> 0
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** Uniform in [lo, hi). */
export function between(random: Random, lo: number, hi: number): number {
  return lo + (hi - lo) * random.next()
}
