// Yielding to the event loop between slices of long work, on every runtime (setImmediate where the
// runtime has it: Node; a zero timeout elsewhere), so that other requests get their turn.
export function pause(): Promise<void> {
  return new Promise<void>((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve)
    else setTimeout(resolve, 0)
  })
}
