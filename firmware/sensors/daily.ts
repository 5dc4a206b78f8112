// Calendar shapes shared by the simulated sensors, all computed from UTC epoch ms (no Date, no time zone):
// the hour of the day, a smooth daily cycle, the water-demand profile with a morning and an evening peak,
// and building occupancy (working hours with a lunch dip, quiet weekends).

const DAY_MS = 86_400_000
const TAU = 2 * Math.PI

/** Hour of the day in [0, 24), UTC, shifted by `offsetHours` (a site's local offset). */
export function hourOfDay(tMs: number, offsetHours = 0): number {
  const h = ((tMs / 3_600_000 + offsetHours) % 24) + 24
  return h >= 24 ? h - 24 : h
}

/** Day of the week for the same local time: 0 Sunday ... 6 Saturday (1970-01-01 was a Thursday). */
export function dayOfWeek(tMs: number, offsetHours = 0): number {
  const d = Math.floor((tMs + offsetHours * 3_600_000) / DAY_MS) + 4
  return ((d % 7) + 7) % 7
}

/** cos over the day: 1 at `peakHour`, -1 twelve hours later. */
export function dailyCycle(hour: number, peakHour: number): number {
  return Math.cos((TAU * (hour - peakHour)) / 24)
}

/**
 * Water demand as a fraction of the design flow: lowest about 0.53 near 02:00, a morning peak of 0.87 near
 * 08:00, a midday dip to 0.67 near 13:30 and an evening peak of 0.93 near 19:00. Two harmonics: a daily one
 * (low at night) and a half-daily one (maxima at 07:30 and 19:30) that makes the two peaks.
 */
export function demand(hour: number): number {
  return 0.75 - 0.08 * dailyCycle(hour, 3) + 0.15 * Math.cos((TAU * (hour - 7.5)) / 12)
}

/**
 * Share of a building's people present, in [0, 1]: ramps up 07:00-09:00, a lunch dip around 12:30, ramps
 * down 17:00-19:00; weekends at 10%.
 */
export function occupancy(hour: number, day: number): number {
  const weekday = day !== 0 && day !== 6
  const present = smoothstep((hour - 7) / 2) * (1 - smoothstep((hour - 17) / 2))
  const lunch = 1 - 0.35 * Math.max(0, 1 - Math.abs(hour - 12.5) / 0.75)
  return (weekday ? 1 : 0.1) * present * lunch
}

/** 0 below 0, 1 above 1, a smooth S between. */
export function smoothstep(x: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  return x * x * (3 - 2 * x)
}
