// Signing in: the admin token is checked against the server and kept in sessionStorage (this tab
// only, gone when it closes). The replay tool reads the same key to pull an export without asking.
import { Api, ApiError } from './api.js'
import { h } from './format.js'

export const TOKEN_KEY = 'edgewatch.adminToken'

export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY)
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY)
}

/** Whether the server takes this token as the admin token; throws a readable error if not. */
export async function check(token: string): Promise<Api> {
  const api = new Api(token)
  try {
    await api.get('/v1/devices', { limit: 1 })
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403))
      throw new Error(
        `The server refused this token: ${e.message}. Use the admin token (not the ingest token).`,
      )
    throw e
  }
  return api
}

/** The sign-in form; resolves with a working Api once a token is accepted. */
export function signInForm(root: HTMLElement, note?: string): Promise<Api> {
  return new Promise((resolve) => {
    const input = h('input', {
      id: 'token',
      name: 'token',
      type: 'password',
      autocomplete: 'off',
      required: true,
      'aria-describedby': 'token-help',
    })
    const error = h('p', { id: 'signin-error', class: 'error', role: 'alert', hidden: true })
    const button = h('button', { type: 'submit' }, 'Sign in')
    const form = h(
      'form',
      { id: 'signin', class: 'panel signin', 'aria-labelledby': 'signin-title' },
      h('h2', { id: 'signin-title' }, 'Sign in to the fleet console'),
      h('label', { for: 'token' }, 'Admin token'),
      input,
      h(
        'p',
        { id: 'token-help', class: 'hint' },
        'The admin token that edgewatch serve printed on its first start (or EDGEWATCH_ADMIN_TOKEN, or ./data/tokens.json). It is kept for this tab only.',
      ),
      button,
      error,
    )
    if (note) {
      error.hidden = false
      error.textContent = note
    }
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      const token = input.value.trim()
      button.disabled = true
      error.hidden = true
      check(token).then(
        (api) => {
          sessionStorage.setItem(TOKEN_KEY, token)
          resolve(api)
        },
        (err: Error) => {
          button.disabled = false
          error.hidden = false
          error.textContent = err.message
          input.select()
        },
      )
    })
    root.replaceChildren(form)
    input.focus()
  })
}
