// The probationary period: the first rows of each file, where a detector is still learning, are not
// scored. NAB takes 15% of the file, capped at 15% of 5000 rows (750).

export const PROBATION_FRACTION = 0.15
const CAP_ROWS = 5000

/** Number of leading rows that are not scored: rows with index < min(floor(f * rows), f * 5000). */
export function probationLength(rows: number, fraction = PROBATION_FRACTION): number {
  return Math.min(Math.floor(fraction * rows), Math.ceil(fraction * CAP_ROWS))
}
