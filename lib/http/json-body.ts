/**
 * Reading a JSON request body (API.md: "Request and response bodies of the
 * API are JSON, UTF-8, Content-Type: application/json").
 *
 *   - no or another media type → 415 `unsupported_media_type` (RFC 9110 §15.5.16);
 *   - a `charset` other than utf-8 → 415;
 *   - bytes that are not UTF-8, or text that is not JSON → 400 `invalid_json`;
 *   - JSON nested deeper than `MAX_DEPTH` → 400 `invalid_json` (a cheap scan
 *     before JSON.parse, so deep nesting cannot exhaust the stack);
 *   - the size limit is the parser's (`max_body_bytes`, 413).
 */
import { HttpError } from './http-error.js';
import { headerValue } from './request-head.js';
import type { Request } from './router.js';

export const MAX_DEPTH = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readJsonBody(req: Request): unknown {
  const type = headerValue(req.head, 'content-type');
  if (type === undefined) throw new HttpError(415, 'unsupported_media_type', 'send the body as Content-Type: application/json');
  const [mediaType, ...params] = type.split(';').map((s) => s.trim());
  if (mediaType!.toLowerCase() !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', 'send the body as Content-Type: application/json');
  }
  for (const p of params) {
    const [k, v] = p.split('=').map((s) => s.trim());
    if (k?.toLowerCase() === 'charset' && v?.replace(/"/g, '').toLowerCase() !== 'utf-8') {
      throw new HttpError(415, 'unsupported_media_type', 'the body must be UTF-8');
    }
  }
  let text: string;
  try {
    text = utf8.decode(req.body);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid UTF-8');
  }
  if (nestingDepth(text) > MAX_DEPTH) throw new HttpError(400, 'invalid_json', `the JSON is nested deeper than ${MAX_DEPTH} levels`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid JSON');
  }
}

/** The body as a JSON object, or 400 `bad_request`. */
export function readJsonObject(req: Request): Record<string, unknown> {
  const value = readJsonBody(req);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'bad_request', 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** The deepest nesting of [ and { outside strings. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped char
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
