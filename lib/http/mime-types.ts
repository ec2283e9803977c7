/**
 * The media type of a file in `public/`, chosen by its extension alone.
 *
 * RFC 9110 §8.3: "A sender that generates a message containing content SHOULD
 * generate a Content-Type header field". We never guess from the bytes
 * (sniffing); together with `X-Content-Type-Options: nosniff`
 * (security-headers.ts) this means a browser only ever interprets a file as
 * the type named here. A name the table does not know is sent as
 * `application/octet-stream` (RFC 2046 §4.5.1, arbitrary binary data), which a
 * browser downloads instead of rendering.
 *
 * Textual types carry `charset=utf-8` so the browser does not fall back to a
 * legacy encoding; `public/` files are written in UTF-8.
 */
import { extname } from 'node:path';

/** For a file whose extension is not in the table (RFC 2046 §4.5.1). */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** Lower-case extension (with its dot) → `Content-Type` field value. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  // RFC 9239 makes text/javascript the one type for JavaScript, modules included.
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  // W3C Web App Manifest §1.1: application/manifest+json.
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  // RFC 8081: the font/ top-level type.
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.wasm': 'application/wasm',
});

/** The `Content-Type` for a file name or path; the extension is matched without regard to case. */
export function contentTypeFor(fileName: string): string {
  const extension = extname(fileName).toLowerCase();
  return Object.hasOwn(CONTENT_TYPES, extension) ? CONTENT_TYPES[extension]! : DEFAULT_CONTENT_TYPE;
}
