// The gateway's public API (/v1/…, docs/API.md) with a bearer credential from sessionStorage. The credential is
// kept for the tab only and never put in a URL; errors carry the API's stable code and the field at fault.

export class ApiFailure extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? "HTTP_ERROR";
    this.field = error?.field;
  }
}

export class Credential {
  constructor(storageKey) {
    this.storageKey = storageKey;
  }
  get() {
    return sessionStorage.getItem(this.storageKey);
  }
  set(token) {
    sessionStorage.setItem(this.storageKey, token);
  }
  clear() {
    sessionStorage.removeItem(this.storageKey);
  }
}

/** fetch on the API; resolves to the Response for 2xx, throws ApiFailure otherwise. */
export async function call(credential, method, path, { body, headers = {} } = {}) {
  const token = credential?.get();
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "omit", cache: "no-store" };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/v1${path}`, init);
  if (!response.ok) {
    let error;
    try {
      error = (await response.json()).error;
    } catch {
      error = undefined;
    }
    throw new ApiFailure(response.status, error);
  }
  return response;
}

export async function getJson(credential, path) {
  return (await call(credential, "GET", path)).json();
}

export async function postJson(credential, path, body = {}, headers = {}) {
  return (await call(credential, "POST", path, { body, headers })).json();
}

/** Polls `fetchState` every `everyMs` until `done(state)`, reporting each state. */
export async function poll(fetchState, done, onState, everyMs = 700) {
  for (;;) {
    const state = await fetchState();
    onState(state);
    if (done(state)) return state;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
