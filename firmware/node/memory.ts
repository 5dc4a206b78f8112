// Free memory for heartbeats, on Node: the host's free memory.
import { freemem } from 'node:os'

export const nodeFreeMemory = (): number => freemem()
