// Tuning: every detector parameter and the rules, as a form built from the defaults; a change
// re-runs the kernels over the dataset (after a short pause in typing).
import type { AnalysisConfigInput } from '../../../functions/domain/analysis-config.js'
import { DEFAULT_RULES, type MetricRule } from '../../../functions/domain/rules.js'
import { LEVELS } from '../../../functions/domain/types.js'
import { DEFAULT_PARAMS } from '../../../kernels/host/defaults.js'
import type { App } from '../app.js'
import { byId, h } from './dom.js'

const DEBOUNCE_MS = 250
type Detectors = Record<string, Record<string, number | boolean | null>>

export function tuningPanel(app: App): void {
  const root = byId('tuning')
  const form = h('form', { id: 'tuning-form', 'aria-label': 'detector parameters' })
  const reset = h('button', { type: 'button', class: 'small' }, 'Reset to defaults')
  root.append(h('div', { class: 'row' }, h('h3', {}, 'Detectors and rules'), reset), form)

  let detectors: Detectors = structuredClone(DEFAULT_PARAMS) as Detectors
  let errorLevels = [...DEFAULT_RULES.errorLevels]
  let rules: MetricRule[] = DEFAULT_RULES.metrics.map((r) => ({ ...r }))
  let timer: ReturnType<typeof setTimeout> | undefined

  const config = (): AnalysisConfigInput =>
    ({ detectors, rules: { errorLevels, metrics: rules } }) as AnalysisConfigInput
  const changed = () => {
    clearTimeout(timer)
    timer = setTimeout(() => void app.applyConfig(config()), DEBOUNCE_MS)
  }
  const input = (id: string, value: number | boolean | null, set: (v: number | boolean | null) => void) => {
    const el =
      typeof value === 'boolean'
        ? h('input', { id, type: 'checkbox', checked: value })
        : h('input', {
            id,
            type: 'number',
            step: 'any',
            value: value ?? '',
            placeholder: value === null ? 'off' : undefined,
          })
    el.addEventListener('change', () => {
      if (el.type === 'checkbox') set(el.checked)
      else if (el.value.trim() === '') set(null)
      else if (Number.isFinite(el.valueAsNumber)) set(el.valueAsNumber)
      else return
      changed()
    })
    return el
  }

  const render = () => {
    const groups = Object.entries(detectors).map(([detector, params]) =>
      h(
        'fieldset',
        {},
        h('legend', {}, detector),
        ...Object.entries(params).map(([name, value]) => {
          const id = `p-${detector}-${name}`
          return h(
            'label',
            { for: id },
            name,
            input(id, value, (v) => (detectors[detector]![name] = v as number)),
          )
        }),
      ),
    )
    const levels = h(
      'fieldset',
      {},
      h('legend', {}, 'error levels'),
      ...LEVELS.map((level) => {
        const id = `level-${level}`
        const box = input(id, errorLevels.includes(level), (on) => {
          errorLevels = on ? [...errorLevels, level] : errorLevels.filter((l) => l !== level)
        })
        return h('label', { for: id }, level, box)
      }),
    )
    const metricRules = h(
      'fieldset',
      {},
      h('legend', {}, 'metric rules'),
      ...rules.flatMap((rule, i) =>
        (['above', 'below'] as const).map((bound) => {
          const id = `rule-${i}-${bound}`
          const set = (v: number | boolean | null) => {
            rules[i] = { ...rules[i]!, [bound]: v === null ? undefined : (v as number) }
          }
          return h(
            'label',
            { for: id },
            `${rule.kind}: ${rule.metric} ${bound}`,
            input(id, rule[bound] ?? null, set),
          )
        }),
      ),
    )
    form.replaceChildren(...groups, levels, metricRules)
  }
  reset.addEventListener('click', () => {
    detectors = structuredClone(DEFAULT_PARAMS) as Detectors
    errorLevels = [...DEFAULT_RULES.errorLevels]
    rules = DEFAULT_RULES.metrics.map((r) => ({ ...r }))
    render()
    changed()
  })
  form.addEventListener('submit', (e) => e.preventDefault())
  render()
}
