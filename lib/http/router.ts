/**
 * The router: from (method, path) to a handler, with the refusals of RFC 9110
 * and API.md in one table-driven place.
 *
 *   - a method token the server does not know at all → 501 `not_implemented`
 *     (RFC 9110 §9.1: "An origin server that receives a request method that is
 *     unrecognized or not implemented SHOULD respond with the 501");
 *   - a known path with another method → 405 with `Allow` (RFC 9110 §15.5.6);
 *   - HEAD works wherever GET does (RFC 9110 §9.3.2);
 *   - any other path: GET/HEAD go to the static files, other methods → 405
 *     `Allow: GET, HEAD`.
 */
import { HttpError } from './http-error.js';
import type { RequestHead } from './request-head.js';
import type { Response } from './response.js';
import type { ClientAddress } from '../net/client-address.js';

/** Methods this server recognises (RFC 9110 §9.3 plus PATCH, RFC 5789). Any other token is 501. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

/** A complete request as handlers see it: the head, the whole body, and who sent it. */
export interface Request {
  readonly head: RequestHead;
  /** The path part of the target, still percent-encoded; the query is in `query`. */
  readonly path: string;
  readonly query: string;
  readonly body: Buffer;
  /** The client: the TCP peer, or the address a trusted proxy forwarded (`trust_proxy`). */
  readonly client: ClientAddress;
  /** The connection runs over TLS. */
  readonly secure: boolean;
  /** Milliseconds since epoch when the head was complete. */
  readonly receivedAt: number;
}

export type Handler = (req: Request) => Response | Promise<Response>;

/** What the router decided for a request. */
export type Route =
  | { readonly kind: 'handler'; readonly handler: Handler }
  | { readonly kind: 'static' }
  | { readonly kind: 'upgrade'; readonly path: string }
  | { readonly kind: 'error'; readonly error: HttpError };

export class Router {
  private readonly routes = new Map<string, Map<string, Handler>>();
  private readonly upgradePaths = new Set<string>();

  /** Register `handler` for `method` on an exact `path`. GET implies HEAD. */
  on(method: string, path: string, handler: Handler): this {
    let byMethod = this.routes.get(path);
    if (!byMethod) {
      byMethod = new Map();
      this.routes.set(path, byMethod);
    }
    byMethod.set(method, handler);
    return this;
  }

  /** A WebSocket endpoint: GET with `Upgrade` is handed to the upgrade layer. */
  upgrade(path: string): this {
    this.upgradePaths.add(path);
    return this;
  }

  removeUpgrade(path: string): void {
    this.upgradePaths.delete(path);
  }

  /** Route a request head. `path` is the target's path (no query). */
  route(method: string, path: string): Route {
    if (!KNOWN_METHODS.has(method)) {
      return { kind: 'error', error: new HttpError(501, 'not_implemented', `the method ${JSON.stringify(method)} is not implemented by this server`) };
    }
    if (this.upgradePaths.has(path)) {
      // API.md: every handshake check, the method first, is the upgrade layer's (POST /ws → 405 Allow: GET).
      return { kind: 'upgrade', path };
    }
    const byMethod = this.routes.get(path);
    if (byMethod) {
      const handler = byMethod.get(method) ?? (method === 'HEAD' ? byMethod.get('GET') : undefined);
      if (handler) return { kind: 'handler', handler };
      return { kind: 'error', error: methodNotAllowed(this.allowFor(byMethod)) };
    }
    if (method === 'GET' || method === 'HEAD') return { kind: 'static' };
    return { kind: 'error', error: methodNotAllowed('GET, HEAD') };
  }

  private allowFor(byMethod: Map<string, Handler>): string {
    const methods = [...byMethod.keys()];
    if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
    return methods.join(', ');
  }
}

export function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, 'method_not_allowed', `this resource allows ${allow}`, { headers: { Allow: allow } });
}

/**
 * Split a request-target into path and query (RFC 9112 §3.2). The absolute
 * form (`http://host/path`) is reduced to its path; `*` and the authority
 * form have no path we serve.
 */
export function splitTarget(target: string): { path: string; query: string } | null {
  let rest = target;
  if (!rest.startsWith('/')) {
    const abs = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(rest);
    if (!abs) return null;
    rest = rest.slice(abs[0].length) || '/';
    if (!rest.startsWith('/')) rest = '/' + rest;
  }
  const q = rest.indexOf('?');
  return q === -1 ? { path: rest, query: '' } : { path: rest.slice(0, q), query: rest.slice(q + 1) };
}
