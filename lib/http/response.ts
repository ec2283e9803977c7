/**
 * Building response bytes (RFC 9112 §4 status line, §5 fields, §6 framing).
 *
 * Pure functions: they return Buffers; the connection writes them. Every
 * response the server sends goes through `serializeHead`, so framing rules
 * live in one place:
 *   - `Content-Length` on every response that may have a body — we never use
 *     chunked responses, bodies are known in full or streamed from a file of
 *     known size (RFC 9112 §6.3);
 *   - 1xx, 204 and 304 carry no body and no Content-Length of a body (RFC 9110 §8.6);
 *   - `Date` on every response (RFC 9110 §6.6.1: an origin server with a clock MUST);
 *   - `Connection: close` when we will close after it; `keep-alive` for an HTTP/1.0 peer that asked.
 */
import { HttpError } from './http-error.js';

export type ResponseHeaders = readonly (readonly [string, string])[];

export interface Response {
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** The body; for HEAD the connection sends the head only (with this body's length). */
  readonly body: Buffer;
}

/** Reason phrases (RFC 9110 §15). Clients ignore them; people read them. */
export const REASON: Readonly<Record<number, string>> = {
  100: 'Continue',
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  411: 'Length Required',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  417: 'Expectation Failed',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** Header fields that serializeHead writes itself and never copies from a handler. */
const FRAMING_FIELDS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'connection']);

/** Statuses whose responses never have a body (RFC 9110 §6.4.1). */
export function statusHasNoBody(status: number): boolean {
  return (status >= 100 && status < 200) || status === 204 || status === 304;
}

let cachedDateSecond = 0;
let cachedDate = '';
/** An IMF-fixdate (RFC 9110 §5.6.7), rebuilt at most once a second. */
export function httpDate(now: number = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== cachedDateSecond) {
    cachedDateSecond = second;
    cachedDate = new Date(second * 1000).toUTCString();
  }
  return cachedDate;
}

export interface HeadOptions {
  /** Close the connection after this response. */
  readonly close: boolean;
  /** The request was HTTP/1.0 and asked for keep-alive: say we agree (RFC 9112 §9.3 / RFC 2068 §19.7.1). */
  readonly keepAliveFor10: boolean;
  /** The body length to announce. */
  readonly contentLength: number;
  /** Headers every response carries (security headers). */
  readonly common: ResponseHeaders;
}

/**
 * The common headers as one block of text, remembered for the last array
 * seen: they are the same on every response (until a reload swaps the
 * array), so they are joined once, not once per response.
 */
let commonSource: ResponseHeaders | null = null;
let commonText = '';
function commonBlock(common: ResponseHeaders): string {
  if (common !== commonSource) {
    commonSource = common;
    commonText = common.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  }
  return commonText;
}

/**
 * A handler's header fields as text. Framing is ours alone (RFC 9112 §6): a
 * handler's own Content-Length, Transfer-Encoding or Connection would
 * contradict the ones serializeHeadText writes, so they are left out here.
 */
function renderFields(headers: ResponseHeaders): string {
  let text = '';
  for (const [name, value] of headers) {
    if (FRAMING_FIELDS.has(name.toLowerCase())) continue;
    text += `${name}: ${value}\r\n`;
  }
  return text;
}

/**
 * The text of frozen header arrays, kept by identity: a cached static file
 * carries the same frozen fields on every response (static-files.ts), so
 * they are rendered once per file version, not once per request.
 */
const renderedFields = new WeakMap<ResponseHeaders, string>();
function fieldBlock(headers: ResponseHeaders): string {
  if (!Object.isFrozen(headers)) return renderFields(headers);
  let text = renderedFields.get(headers);
  if (text === undefined) {
    text = renderFields(headers);
    renderedFields.set(headers, text);
  }
  return text;
}

/**
 * The status line and header section as text. Every character is one byte
 * on the wire (latin1): field values are visible ASCII or obs-text
 * (RFC 9110 §5.5), and the callers build them so.
 */
export function serializeHeadText(status: number, headers: ResponseHeaders, options: HeadOptions): string {
  let head = `HTTP/1.1 ${status} ${REASON[status] ?? 'Unknown'}\r\nDate: ${httpDate()}\r\n${commonBlock(options.common)}${fieldBlock(headers)}`;
  if (!statusHasNoBody(status)) head += `Content-Length: ${options.contentLength}\r\n`;
  if (options.close) head += 'Connection: close\r\n';
  else if (options.keepAliveFor10) head += 'Connection: keep-alive\r\n';
  head += '\r\n';
  return head;
}

/** The status line and header section of a response, ready to write. */
export function serializeHead(status: number, headers: ResponseHeaders, options: HeadOptions): Buffer {
  return Buffer.from(serializeHeadText(status, headers, options), 'latin1');
}

/**
 * Head and body in one Buffer, for one write: one TLS record and one system
 * call where a head and a body written apart would need the socket's writev
 * path (which node:tls copies into one buffer anyway). For small bodies only:
 * a large one is written as it is, after its head.
 */
export function serializeResponse(status: number, headers: ResponseHeaders, options: HeadOptions, body: Buffer): Buffer {
  const head = serializeHeadText(status, headers, options);
  const out = Buffer.allocUnsafe(head.length + body.length);
  out.write(head, 0, 'latin1');
  body.copy(out, head.length);
  return out;
}

const JSON_TYPE: readonly [string, string] = ['Content-Type', 'application/json; charset=utf-8'];
const NO_STORE: readonly [string, string] = ['Cache-Control', 'no-store'];

/** A JSON response (API.md: bodies are JSON, UTF-8). API answers are never cached. */
export function jsonResponse(status: number, value: unknown, extraHeaders: ResponseHeaders = []): Response {
  const body = status === 204 ? Buffer.alloc(0) : Buffer.from(JSON.stringify(value), 'utf8');
  const headers: (readonly [string, string])[] = status === 204 ? [NO_STORE] : [JSON_TYPE, NO_STORE];
  return { status, headers: [...headers, ...extraHeaders], body };
}

/** API.md's error body: `{ "error": { "code", "message", "field"? } }`. */
export function errorResponse(err: HttpError): Response {
  const error: Record<string, string> = { code: err.code, message: err.message };
  if (err.field !== undefined) error.field = err.field;
  return jsonResponse(err.status, { error }, Object.entries(err.headers));
}
