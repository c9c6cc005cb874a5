// The API token lives in this tab's sessionStorage only: never in a URL, never in localStorage.
const key = 'gauntlet.token'

export function readToken(): string | undefined {
  return sessionStorage.getItem(key) ?? undefined
}

export function saveToken(token: string): void {
  sessionStorage.setItem(key, token)
}

export function forgetToken(): void {
  sessionStorage.removeItem(key)
}

/** Headers every API call carries: the token when there is one. */
export function authHeaders(): Record<string, string> {
  const token = readToken()
  return token ? { authorization: `Bearer ${token}` } : {}
}
