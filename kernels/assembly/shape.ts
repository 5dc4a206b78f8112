// Shape: a window of the series' recent course that matches none of the shapes it has learnt.
// Samples are averaged in blocks of `block`; the last SHAPE_BLOCKS block means, scaled into the range
// the series showed during its warm-up and clamped there (values outside it are novelty's job),
// form the window, one byte per mean. A fuzzy ART network learns windows as boxes (a category's
// weights: the box's low corner and the complement of its high corner, fast learning by a byte-wise
// minimum, exact on every host). A window joins the best category whose match reaches the vigilance;
// when none does it founds a new one (while there is room: the network then stops growing) and,
// after warm-up and outside the mask that follows an alarm, fires when even the closest category
// matches less than the alarm level. Work happens once per block, per category: SHAPE_WEIGHTS bytes.
import {
  P_SHAPE_ALARM,
  P_SHAPE_BLOCK,
  P_SHAPE_CATEGORIES,
  P_SHAPE_MASK,
  P_SHAPE_VIGILANCE,
  P_SHAPE_WARMUP,
  S_SHAPE_BLOCKS,
  S_SHAPE_FILL,
  S_SHAPE_HI,
  S_SHAPE_LO,
  S_SHAPE_MASK,
  S_SHAPE_RECENT,
  S_SHAPE_SUM,
  S_SHAPE_USED,
  S_SHAPE_WEIGHTS,
  SHAPE_BLOCKS,
  SHAPE_WEIGHTS,
  STATE_PTR,
} from '../layout'
import { get, param, set } from './memory'

const WEIGHTS_PTR: usize = STATE_PTR + (S_SHAPE_WEIGHTS << 3)
const RECENT_PTR: usize = STATE_PTR + (S_SHAPE_RECENT << 3)
/** A window's total weight: SHAPE_BLOCKS bytes plus their complements. */
const INPUT_SUM: f64 = 255 * SHAPE_BLOCKS
/** The choice function's small constant: among boxes that match, prefer the tightest. */
const CHOICE_ALPHA: f64 = 0.01
/** The strength of an alarm: the distance to the closest box (1 - its match), below this cap. */
const STRENGTH_CAP: f64 = 0.999

/** Sum over the bytes of a category and of the window's complement-coded input of their minimum. */
@inline
function overlap(category: usize, input: u64): i32 {
  let s: i32 = 0
  for (let i = 0; i < SHAPE_BLOCKS; i++) {
    const q = <i32>((input >>> (<u64>i << 3)) & 255)
    s += min<i32>(<i32>load<u8>(category + i), q)
    s += min<i32>(<i32>load<u8>(category + SHAPE_BLOCKS + i), 255 - q)
  }
  return s
}

@inline
function size(category: usize): i32 {
  let s: i32 = 0
  for (let i = 0; i < SHAPE_WEIGHTS; i++) s += <i32>load<u8>(category + i)
  return s
}

/** Fast learning: the box grows to hold the window (byte-wise minimum with the input). */
@inline
function learn(category: usize, input: u64): void {
  for (let i = 0; i < SHAPE_BLOCKS; i++) {
    const q = <u8>((input >>> (<u64>i << 3)) & 255)
    store<u8>(category + i, min<u8>(load<u8>(category + i), q))
    store<u8>(category + SHAPE_BLOCKS + i, min<u8>(load<u8>(category + SHAPE_BLOCKS + i), 255 - q))
  }
}

@inline
function found(category: usize, input: u64): void {
  for (let i = 0; i < SHAPE_BLOCKS; i++) {
    const q = <u8>((input >>> (<u64>i << 3)) & 255)
    store<u8>(category + i, q)
    store<u8>(category + SHAPE_BLOCKS + i, 255 - q)
  }
}

/** The window's mean scaled into the warm-up range, one byte. */
@inline
function quantise(mean: f64, lo: f64, hi: f64): u64 {
  if (!(hi > lo)) return 128
  const r = (mean - lo) / (hi - lo)
  return r > 0 ? (r < 1 ? <u64>(r * 255 + 0.5) : 255) : 0
}

/**
 * `n` is the number of samples the series has seen before x. Returns the alarm's strength in
 * (0, 1) when the window closed by this sample fires, else 0.
 */
@inline
export function shapeStep(x: f64, n: f64): f64 {
  const warmup = param(P_SHAPE_WARMUP)
  if (n < warmup) {
    if (n == 0 || x < get(S_SHAPE_LO)) set(S_SHAPE_LO, x)
    if (n == 0 || x > get(S_SHAPE_HI)) set(S_SHAPE_HI, x)
  }
  const mask = get(S_SHAPE_MASK)
  if (mask > 0) set(S_SHAPE_MASK, mask - 1)
  const sum = get(S_SHAPE_SUM) + x
  const fill = get(S_SHAPE_FILL) + 1
  if (fill < param(P_SHAPE_BLOCK)) {
    set(S_SHAPE_SUM, sum)
    set(S_SHAPE_FILL, fill)
    return 0
  }
  set(S_SHAPE_SUM, 0)
  set(S_SHAPE_FILL, 0)
  const input = (load<u64>(RECENT_PTR) << 8) | quantise(sum / fill, get(S_SHAPE_LO), get(S_SHAPE_HI))
  store<u64>(RECENT_PTR, input)
  const blocks = get(S_SHAPE_BLOCKS) + 1
  set(S_SHAPE_BLOCKS, blocks)
  if (blocks < <f64>SHAPE_BLOCKS) return 0

  const vigilance = param(P_SHAPE_VIGILANCE) * INPUT_SUM
  const used = <i32>get(S_SHAPE_USED)
  let chosen: i32 = -1
  let bestChoice: f64 = -1
  let closest: i32 = 0
  for (let j = 0; j < used; j++) {
    const category = WEIGHTS_PTR + <usize>(j * SHAPE_WEIGHTS)
    const s = overlap(category, input)
    if (s > closest) closest = s
    if (<f64>s >= vigilance) {
      const choice = <f64>s / (CHOICE_ALPHA + <f64>size(category))
      if (choice > bestChoice) {
        bestChoice = choice
        chosen = j
      }
    }
  }
  if (chosen >= 0) {
    learn(WEIGHTS_PTR + <usize>(chosen * SHAPE_WEIGHTS), input)
    return 0
  }
  if (used < <i32>param(P_SHAPE_CATEGORIES)) {
    found(WEIGHTS_PTR + <usize>(used * SHAPE_WEIGHTS), input)
    set(S_SHAPE_USED, used + 1)
  }
  const match = <f64>closest / INPUT_SUM
  if (n + 1 < warmup || mask > 0 || match >= param(P_SHAPE_ALARM)) return 0
  set(S_SHAPE_MASK, param(P_SHAPE_MASK))
  return min<f64>(1 - match, STRENGTH_CAP)
}
