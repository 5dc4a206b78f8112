// Builds the kernels once before any test file runs, so tests never race to build them.
import { buildKernels } from '../kernels/node.js'

export default function setup(): void {
  buildKernels()
}
