/**
 * A small JSON client for the account endpoints, over the raw TLS client
 * (spec/helpers/raw-client.ts): one request per connection, exact bytes.
 */
import { request, type ParsedResponse } from '../helpers/raw-client.js';
import type { LiveServer } from '../helpers/live-server.js';

export interface ApiResponse extends ParsedResponse {
  /** The body parsed as JSON, or undefined when there is none. */
  // any: tests read response shapes they assert on field by field.
  readonly json: any;
}

export interface CallOptions {
  readonly token?: string;
  /** A JSON value to send, or a raw string body (sent as is). */
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly contentType?: string;
  /** More header lines, each "Name: value". */
  readonly headers?: readonly string[];
}

export async function call(live: LiveServer, method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: localhost'];
  if (options.token !== undefined) lines.push(`Authorization: Bearer ${options.token}`);
  for (const h of options.headers ?? []) lines.push(h);
  let body = '';
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== '' || options.contentType !== undefined) {
    lines.push(`Content-Type: ${options.contentType ?? 'application/json'}`);
  }
  if (method !== 'GET' && method !== 'HEAD') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  const raw = Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), Buffer.from(body, 'utf8')]);
  const res = await request(live.port, live.tls, raw);
  const text = res.body.toString('utf8');
  const isJson = res.headers.get('content-type')?.startsWith('application/json') ?? false;
  return { ...res, json: isJson && text !== '' ? (JSON.parse(text) as unknown) : undefined };
}

/** The payload of a JWT, decoded without any check (tests only). */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

let counter = 0;
/** A fresh valid username for each test, so tests do not depend on each other. */
export function uniqueName(prefix = 'user'): string {
  counter += 1;
  return `${prefix}_${process.pid % 1000}_${counter}`;
}

/** A password that passes API.md's rules. */
export const GOOD_PASSWORD = 'correct horse battery staple';

export async function register(live: LiveServer, username = uniqueName(), password = GOOD_PASSWORD): Promise<{ username: string; password: string; token: string; user: { id: number } }> {
  const res = await call(live, 'POST', '/register', { body: { username, password } });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.body.toString()}`);
  return { username, password, token: res.json.token as string, user: res.json.user as { id: number } };
}
