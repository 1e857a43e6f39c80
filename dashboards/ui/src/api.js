// The API client: the token lives in sessionStorage (gone when the tab closes) and is sent as a
// bearer token; errors are the API's problem documents.

const TOKEN_KEY = 'weft.token';

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Calls the API; resolves to the parsed JSON body, rejects with an ApiError. */
export async function api(path, { method = 'GET', body, params, tokenOverride } = {}) {
  let url = path;
  if (params) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined || value === null || value === '') continue;
      for (const item of Array.isArray(value) ? value : [value]) search.append(key, String(item));
    }
    const text = search.toString();
    if (text) url += `?${text}`;
  }
  const headers = { Accept: 'application/json' };
  const bearer = tokenOverride ?? token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, `weft did not answer (${error.message}); is it running?`);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const detail = json && typeof json.detail === 'string' ? json.detail : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, detail);
  }
  return json;
}

const RANK = { viewer: 1, analyst: 2, admin: 3 };

/** Whether `role` is at least `required` (viewer < analyst < admin; ingest reads nothing). */
export function satisfies(role, required) {
  return (RANK[role] ?? 0) >= (RANK[required] ?? Infinity);
}
