// One colour per anomaly kind, readable on the light background (WCAG AA for text).
const COLOURS: Record<string, string> = {
  threshold: '#b35900',
  outlier: '#c0143c',
  spike: '#7a1fa2',
  drift: '#00668a',
  stuck: '#5c5c00',
  novelty: '#3b3b98',
  context: '#1f6f4a',
  shape: '#6b4226',
  state: '#0b5394',
  error: '#a00000',
  high_temp: '#c43e00',
  slow_response: '#2d5f2d',
}
const FALLBACK = ['#404080', '#805000', '#006060', '#803060']

export function kindColour(kind: string): string {
  const c = COLOURS[kind]
  if (c) return c
  let h = 0
  for (const ch of kind) h = (h * 31 + ch.charCodeAt(0)) >>> 0
  return FALLBACK[h % FALLBACK.length]!
}
