/**
 * The HTTP half of the API (API.md "HTTP endpoints"): register, log in, log
 * out, refresh the token, who am I. Every error body is
 * `{ error: { code, message, field? } }`; it becomes an ApiError that the
 * forms show next to the field it names.
 */

/** @typedef {import('./types.js').User} User */
/** @typedef {{ token: string, expires_at: string }} TokenGrant */
/** @typedef {TokenGrant & { user: User }} LoginGrant */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} code API.md's stable error word (`network` for no answer)
   * @param {string} message for people
   * @param {string | null} field the request field at fault (`validation_failed`)
   * @param {number | null} retryAfterMs from `Retry-After` on a 429
   */
  constructor(status, code, message, field = null, retryAfterMs = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * One JSON request. Resolves with the parsed body (null for 204).
 * @param {'GET' | 'POST' | 'PUT'} method
 * @param {string} path
 * @param {{ body?: unknown, token?: string }} [options]
 * @returns {Promise<unknown>}
 */
async function request(method, path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  /** @type {Response} */
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'Can’t reach the server. Check your connection and try again.');
  }
  if (response.status === 204) return null;
  /** @type {unknown} */
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page, say): the status alone has to do.
    body = null;
  }
  if (response.ok) return body;
  const error = readError(body);
  const retryAfter = Number(response.headers.get('Retry-After'));
  throw new ApiError(
    response.status,
    error?.code ?? 'internal',
    error?.message ?? `The server answered ${response.status}.`,
    error?.field ?? null,
    response.status === 429 && Number.isFinite(retryAfter) ? retryAfter * 1000 : null,
  );
}

/**
 * @param {unknown} body
 * @returns {{ code: string, message: string, field: string | null } | null}
 */
function readError(body) {
  if (typeof body !== 'object' || body === null || !('error' in body)) return null;
  const error = /** @type {{ error: unknown }} */ (body).error;
  if (typeof error !== 'object' || error === null) return null;
  const e = /** @type {Record<string, unknown>} */ (error);
  if (typeof e.code !== 'string' || typeof e.message !== 'string') return null;
  return { code: e.code, message: e.message, field: typeof e.field === 'string' ? e.field : null };
}

/**
 * @param {{ username: string, password: string, display_name?: string }} fields
 * @returns {Promise<LoginGrant>}
 */
export async function register(fields) {
  return /** @type {LoginGrant} */ (await request('POST', '/register', { body: fields }));
}

/**
 * @param {{ username: string, password: string }} fields
 * @returns {Promise<LoginGrant>}
 */
export async function login(fields) {
  return /** @type {LoginGrant} */ (await request('POST', '/login', { body: fields }));
}

/**
 * Revokes this token; WebSockets opened with it close with 1008.
 * @param {string} token
 */
export async function logout(token) {
  await request('POST', '/logout', { token });
}

/**
 * A fresh token for the same login (401 `invalid_token` once the login is too old).
 * @param {string} token
 * @returns {Promise<TokenGrant>}
 */
export async function refreshToken(token) {
  return /** @type {TokenGrant} */ (await request('POST', '/token', { token }));
}

/**
 * @param {string} token
 * @returns {Promise<{ user: User }>}
 */
export async function me(token) {
  return /** @type {{ user: User }} */ (await request('GET', '/me', { token }));
}
