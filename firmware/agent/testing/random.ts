// A seeded uniform [0, 1) source (the sensors' mulberry32), so that tests with jitter are repeatable.
import { createRandom } from '../../sensors/random.js'

export function seededRandom(seed: number): () => number {
  const random = createRandom(seed)
  return () => random.next()
}
