// The signed-in token lives in sessionStorage: it survives a reload of the tab but not closing it,
// and no other tab or site can read it back from a cookie.

const KEY = "spendlimits.console.token";

export function storedToken(): string | null {
  return window.sessionStorage.getItem(KEY);
}

export function storeToken(token: string): void {
  window.sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  window.sessionStorage.removeItem(KEY);
}
