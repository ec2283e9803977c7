/**
 * From an HTTP request to an open WebSocket: the checks API.md puts before any
 * upgrade, in its order, each refusal an HTTP response (never a half-open
 * WebSocket):
 *
 *   0. the method: GET (HEAD is answered as a plain GET would be, without a body), else 405 `Allow: GET`;
 *   1. the `Origin`, when present, must be allowed (RFC 6455 §10.2), else 403;
 *   2. the handshake itself (RFC 6455 §4.2.1, handshake.ts), else 400 / 426;
 *   3. the endpoint's subprotocol rule (§4.2.2 item 5.4), else 400;
 *   4. the endpoint's authentication, else 401;
 * then the 101 (§4.2.2) and the hand-off of every unconsumed byte.
 */
import type { Connection, Reactor } from '../net/reactor.js';
import type { Request } from '../http/router.js';
import { HttpError } from '../http/http-error.js';
import { errorResponse } from '../http/response.js';
import type { UpgradeOutcome } from '../http/connection.js';
import { headerValue } from '../http/request-head.js';
import { parseHandshake, handshakeResponse, type ParsedHandshake } from './handshake.js';
import { WebSocketConnection, type WsHandler, type WsOptions } from './connection.js';
import { describeAcceptKey } from './trace.js';

/** What an endpoint decides once the handshake is valid. */
export type Admission =
  | { readonly ok: true; readonly protocol: string | null; readonly handler: WsHandler; readonly data?: unknown }
  | { readonly ok: false; readonly error: HttpError };

export interface WsEndpoint {
  readonly path: string;
  /** Steps 3 and 4: pick the subprotocol, authenticate, choose the handler. */
  admit(req: Request, handshake: ParsedHandshake): Admission | Promise<Admission>;
  /**
   * Per-endpoint options (message size differs between the chat and the echo
   * path), asked for at every upgrade. The connection keeps what it gets for
   * life: give every connection the same object while the config is
   * unchanged (ChatServer.wsOptions), not a new one each (issue 9).
   */
  readonly options: () => WsOptions;
}

export interface OriginPolicy {
  /** `allowed_origins`; when empty, `public_origin`; when that is empty too, our own scheme and the request's Host. */
  readonly allowedOrigins: () => readonly string[];
  readonly publicOrigin: () => string;
}

/** Step 1: is this `Origin` allowed? (RFC 6454 §7 origins; RFC 6455 §10.2.) */
export function originAllowed(origin: string | undefined, req: Request, policy: OriginPolicy): boolean {
  if (origin === undefined) return true; // non-browser clients send none (§4.1: browsers MUST)
  const o = origin.toLowerCase();
  const allowed = policy.allowedOrigins();
  if (allowed.length > 0) return allowed.some((a) => a.toLowerCase() === o);
  const pub = policy.publicOrigin();
  if (pub !== '') return pub.toLowerCase() === o;
  const host = headerValue(req.head, 'host');
  if (host === undefined) return false;
  const own = `${req.secure ? 'https' : 'http'}://${host}`.toLowerCase();
  // A default port may be spelt or not (RFC 6454 §6.2 omits it).
  return o === own || o === own.replace(req.secure ? /:443$/ : /:80$/, '');
}

export class WsUpgrader {
  private readonly endpoints = new Map<string, WsEndpoint>();

  constructor(
    private readonly reactor: Reactor,
    private readonly policy: OriginPolicy,
    private readonly traceHandshake: () => boolean,
  ) {}

  mount(endpoint: WsEndpoint): void {
    this.endpoints.set(endpoint.path, endpoint);
  }

  unmount(path: string): void {
    this.endpoints.delete(path);
  }

  has(path: string): boolean {
    return this.endpoints.has(path);
  }

  /** The HTTP layer's upgrade hook. */
  upgrade(conn: Connection, req: Request, unconsumed: Buffer): UpgradeOutcome | Promise<UpgradeOutcome> {
    const endpoint = this.endpoints.get(req.path);
    if (!endpoint) return refused(new HttpError(404, 'not_found', 'no such resource'));

    // 0. GET; HEAD gets what a plain GET gets (API.md), so it goes on as a GET without upgrade.
    const method = req.head.method;
    if (method !== 'GET' && method !== 'HEAD') {
      return refused(new HttpError(405, 'method_not_allowed', 'a WebSocket handshake is a GET request', { headers: { Allow: 'GET' } }));
    }
    // 1. Origin (cross-site WebSocket hijacking defence).
    const origin = headerValue(req.head, 'origin');
    if (!originAllowed(origin, req, this.policy)) {
      return refused(new HttpError(403, 'forbidden', 'this origin may not open a WebSocket here'));
    }
    // 2. The handshake (§4.2.1).
    const parsed = parseHandshake(method === 'HEAD' ? { ...req.head, method: 'GET' } : req.head);
    if (parsed instanceof HttpError) return refused(parsed);
    if (method === 'HEAD') return refused(new HttpError(400, 'bad_request', 'a WebSocket handshake is a GET request with Upgrade'));

    // 3 and 4 are the endpoint's.
    const admission = endpoint.admit(req, parsed);
    if (admission instanceof Promise) return admission.then((a) => this.finish(conn, a, parsed, endpoint, unconsumed));
    return this.finish(conn, admission, parsed, endpoint, unconsumed);
  }

  private finish(conn: Connection, admission: Admission, parsed: ParsedHandshake, endpoint: WsEndpoint, unconsumed: Buffer): UpgradeOutcome {
    if (!admission.ok) return refused(admission.error);
    if (conn.stream.destroyed) return { kind: 'upgraded' }; // the client left while we checked
    const options = endpoint.options();
    if (this.traceHandshake()) options.log.info('trace ws handshake', { conn: conn.id, accept: describeAcceptKey(parsed.key) });
    // §4.2.2 item 5: the 101, then frames may flow.
    conn.stream.write(handshakeResponse(parsed.key, admission.protocol));
    const ws = new WebSocketConnection(conn, this.reactor, admission.handler, options);
    ws.data = admission.data ?? null;
    ws.start(unconsumed);
    return { kind: 'upgraded' };
  }
}

function refused(error: HttpError): UpgradeOutcome {
  return { kind: 'refused', response: errorResponse(error) };
}

/** The echo endpoint for conformance tools (`ws_echo_path`): every message comes back unchanged, no authentication. */
export function echoEndpoint(path: string, options: () => WsOptions): WsEndpoint {
  const handler: WsHandler = {
    onText: (ws, data) => ws.sendText(data),
    onBinary: (ws, data) => ws.sendBinary(data),
  };
  return {
    path,
    options,
    // No subprotocol is chosen: the client may offer some, we answer none (§4.2.2 item 5.4 "null").
    admit: () => ({ ok: true, protocol: null, handler }),
  };
}
