// The most obvious placement of the same cost model, to check meter()'s segments against: a charge of
// 1 before every instruction (one before an end or else is skipped by a branch past it, as the model
// says), the bulk charges before their operations, and no checks.
import { type BodyReader, Bulk } from '../code.js'
import type { Charge } from '../meter.js'

export function planEveryInstruction(br: BodyReader): Charge[] {
  const charges: Charge[] = []
  while (!br.done) {
    br.next()
    charges.push({ at: br.start, bulk: Bulk.none, cost: 1, check: false })
    if (br.bulk !== Bulk.none) charges.push({ at: br.start, bulk: br.bulk, cost: 0, check: false })
  }
  return charges
}
