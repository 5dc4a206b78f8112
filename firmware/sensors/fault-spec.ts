// Faults from the command line. `parseFaultSpec` reads a textual spec into plans; `applyFaultPlans` injects
// them into a set of fault-wrapped devices, relative to the simulation's start, and returns the labels.
//
// Grammar (whitespace around items and parts is ignored):
//   spec      = item { "," item }                       (an empty spec is no faults)
//   item      = selector ":" kind [ "(" channel ")" ] "@" offset [ "+" duration ]
//   selector  = device-id | "*" | number "%"            ("*": every device the fault fits; "N%": a seeded
//                                                        share of those, at least one device)
//   kind      = spike | drift | stuck | noise           (single-sensor: optional channel, default a seeded
//             | valve | cavitation | bearing | leak      pick; equipment: pumps only, no channel)
//   offset    = time                                    (after the simulation starts; 0s is allowed)
//   duration  = time                                    (> 0; default per kind, DEFAULT_DURATION_MS; a spike
//                                                        hits one reading and takes none)
//   time      = { number unit }+ , unit = ms | s | m | h | d     e.g. 250ms, 90s, 1m30s, 1.5h
// A device id is any text without "," (it may contain ":"; the last ":" of an item ends the selector).
// Example: "pump-3:cavitation@120s+5m, *:spike@30s, env-1:drift(temperature)@10m+2m, 10%:leak@1h".
// With "*" or "N%", a fault goes only to devices it fits: equipment faults to pumps, a named channel to the
// devices that have it.

import {
  FAULT_KINDS,
  type Fault,
  FaultError,
  type FaultKind,
  type FaultLabel,
  type FaultySensor,
  isEquipmentFault,
  isFaultKind,
} from './faults.js'
import { createRandom, seedFrom } from './random.js'

export type DeviceSelector =
  | { type: 'device'; deviceId: string }
  | { type: 'all' }
  | { type: 'share'; percent: number }

export interface FaultPlan {
  /** The item as written, for messages. */
  text: string
  devices: DeviceSelector
  kind: FaultKind
  channel?: string
  /** ms after the simulation starts. */
  offsetMs: number
  /** ms; undefined: the kind's default. */
  durationMs?: number
}

/** A spec that cannot be parsed or applied. `part` is the offending piece of text. */
export class FaultSpecError extends Error {
  override name = 'FaultSpecError'
  constructor(
    message: string,
    readonly part: string,
  ) {
    super(message)
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const TIME_PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/y
const PERCENT = /^(\d+(?:\.\d+)?)%$/
const HEAD = /^([A-Za-z]+)\s*(?:\(([^()]*)\))?$/
const CHANNEL = /^[A-Za-z_][A-Za-z0-9_.-]*$/

export function parseFaultSpec(text: string): FaultPlan[] {
  if (typeof text !== 'string') throw new FaultSpecError('fault spec must be a string', String(text))
  if (text.trim() === '') return []
  return text.split(',').map((raw, i) => parseItem(raw.trim(), i + 1))
}

/** A time such as "90s", "1m30s", "1.5h" or "250ms", in ms (rounded to whole ms). Throws a plain Error. */
export function parseTime(text: string): number {
  const t = text.trim()
  let total = 0
  let at = 0
  TIME_PART.lastIndex = 0
  while (at < t.length) {
    TIME_PART.lastIndex = at
    const m = TIME_PART.exec(t)
    if (!m)
      throw new Error(
        `"${text}" is not a time: write a number with a unit (ms, s, m, h, d), e.g. 90s or 1m30s`,
      )
    total += Number(m[1]) * UNIT_MS[m[2]!]!
    at = TIME_PART.lastIndex
  }
  if (t === '') throw new Error('empty time: write a number with a unit (ms, s, m, h, d), e.g. 90s')
  return Math.round(total)
}

function parseItem(item: string, index: number): FaultPlan {
  const fail = (problem: string, part: string): never => {
    throw new FaultSpecError(`fault spec item ${index} "${item}": ${problem}`, part)
  }
  if (item === '') fail('empty item (two commas in a row, or a comma at the end?)', item)
  const colon = item.lastIndexOf(':')
  if (colon < 0) fail('missing "selector:" before the fault kind, e.g. pump-3:valve@1m or *:spike@30s', item)
  const selector = item.slice(0, colon).trim()
  const rest = item.slice(colon + 1).trim()

  let devices: DeviceSelector
  if (selector === '') fail('empty device selector before ":" (a device id, * or N%)', selector)
  if (selector === '*') devices = { type: 'all' }
  else if (selector.endsWith('%')) {
    const m = PERCENT.exec(selector)
    const percent = m ? Number(m[1]) : Number.NaN
    if (!(percent > 0 && percent <= 100))
      fail(`bad share "${selector}": a percentage above 0 and at most 100`, selector)
    devices = { type: 'share', percent }
  } else devices = { type: 'device', deviceId: selector }

  const ats = rest.split('@')
  if (ats.length < 2) fail(`missing start: add @<offset> after the kind, e.g. ${rest || 'valve'}@2m`, rest)
  if (ats.length > 2) fail('more than one "@" (one start per item)', rest)
  const head = ats[0]!.trim()
  const when = ats[1]!.trim()

  const hm = HEAD.exec(head)
  if (!hm) fail(`bad fault "${head}": write a kind with an optional channel, e.g. drift(temperature)`, head)
  const kindText = hm![1]!
  if (!isFaultKind(kindText))
    fail(`unknown fault kind "${kindText}" (kinds: ${FAULT_KINDS.join(', ')})`, kindText)
  const kind = kindText as FaultKind
  const channelText = hm![2]
  let channel: string | undefined
  if (channelText !== undefined) {
    channel = channelText.trim()
    if (isEquipmentFault(kind)) {
      fail(
        `${kind} is an equipment fault: it moves several channels through the pump's physics and takes no channel`,
        head,
      )
    }
    if (!CHANNEL.test(channel)) fail(`bad channel name "${channelText}" in parentheses`, channelText)
  }

  const pluses = when.split('+')
  if (pluses.length > 2) fail('more than one "+" (one duration per item)', when)
  const offsetText = pluses[0]!.trim()
  let offsetMs = 0
  try {
    offsetMs = parseTime(offsetText)
  } catch (e) {
    fail(`bad start offset: ${(e as Error).message}`, offsetText)
  }
  let durationMs: number | undefined
  if (pluses.length === 2) {
    const durationText = pluses[1]!.trim()
    if (kind === 'spike') fail('a spike hits one reading and takes no duration', durationText)
    try {
      durationMs = parseTime(durationText)
    } catch (e) {
      fail(`bad duration: ${(e as Error).message}`, durationText)
    }
    if (durationMs! <= 0) fail(`duration "${durationText}" must be above 0`, durationText)
  }
  const plan: FaultPlan = { text: item, devices: devices!, kind, offsetMs }
  if (channel !== undefined) plan.channel = channel
  if (durationMs !== undefined) plan.durationMs = durationMs
  return plan
}

/**
 * Injects every plan into the devices, at `startMs` (the simulation's start, epoch ms) plus each plan's
 * offset, and returns the labels in plan order. `seed` drives the "N%" picks (devices are ordered by id
 * first, so the pick does not depend on the order they are passed in). All or nothing: every plan is
 * resolved and checked before any fault is injected; a problem throws a FaultSpecError naming the item.
 */
export function applyFaultPlans(
  plans: readonly FaultPlan[],
  devices: Iterable<FaultySensor>,
  startMs: number,
  seed = 0,
): FaultLabel[] {
  const byId = new Map<string, FaultySensor>()
  for (const d of devices) {
    if (byId.has(d.deviceId)) throw new FaultSpecError(`two devices share the id "${d.deviceId}"`, d.deviceId)
    byId.set(d.deviceId, d)
  }
  const sorted = [...byId.values()].sort((a, b) =>
    a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0,
  )

  const work: { device: FaultySensor; fault: Fault; plan: FaultPlan }[] = []
  for (const plan of plans) {
    const fail = (problem: string, part: string): never => {
      throw new FaultSpecError(`fault spec item "${plan.text}": ${problem}`, part)
    }
    const fault: Fault = { kind: plan.kind, start: startMs + plan.offsetMs }
    if (plan.channel !== undefined) fault.channel = plan.channel
    if (plan.durationMs !== undefined) fault.duration = plan.durationMs

    let targets: FaultySensor[]
    const sel = plan.devices
    if (sel.type === 'device') {
      const d = byId.get(sel.deviceId)
      if (!d) fail(`unknown device "${sel.deviceId}" (${byId.size} devices)`, sel.deviceId)
      targets = [d!]
    } else {
      const fits = sorted.filter((d) => fitsDevice(d, plan))
      if (fits.length === 0) {
        const what = isEquipmentFault(plan.kind) ? 'a pump' : `a channel "${plan.channel}"`
        fail(`no device fits: ${plan.kind} needs ${what}`, plan.text)
      }
      targets = sel.type === 'all' ? fits : pickShare(fits, sel.percent, seedFrom(plan.text, seed))
    }
    for (const device of targets) {
      try {
        device.check(fault)
      } catch (e) {
        if (e instanceof FaultError) fail(e.message, device.deviceId)
        throw e
      }
      work.push({ device, fault, plan })
    }
  }
  return work.map(({ device, fault }) => device.inject(fault))
}

function fitsDevice(d: FaultySensor, plan: FaultPlan): boolean {
  if (isEquipmentFault(plan.kind)) return d.kind === 'pump'
  return plan.channel === undefined || d.channels().includes(plan.channel)
}

/** round(percent% of the devices), at least one, picked by a seeded partial Fisher-Yates shuffle. */
function pickShare(devices: FaultySensor[], percent: number, seed: number): FaultySensor[] {
  const n = Math.max(1, Math.round((devices.length * percent) / 100))
  const pool = [...devices]
  const random = createRandom(seed)
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random.next() * (pool.length - i))
    const t = pool[i]!
    pool[i] = pool[j]!
    pool[j] = t
  }
  return pool.slice(0, n)
}
