/**
 * The header fields that go on every response, API and static alike: they tell
 * the browser what the page may do, so a bug in the client (or a file that
 * should not be in `public/`) cannot turn into script injection, clickjacking
 * or a leaked URL.
 *
 * Follows: CSP Level 3 (W3C), RFC 7034 (X-Frame-Options), the Fetch standard
 * (X-Content-Type-Options), Referrer Policy (W3C), the HTML standard
 * (Cross-Origin-Opener-Policy) and RFC 6797 (HSTS).
 *
 * The connection adds these; static-files.ts and the API handlers do not.
 */

/**
 * Content-Security-Policy, one directive per entry (rules as data).
 *
 * Only our own origin may supply scripts, styles, fonts, images (plus `data:`
 * images) and connections; nothing inline is allowed, so `public/` pages use
 * no `<script>` bodies, `style=` attributes or `<style>` elements.
 *
 * `connect-src 'self'` also allows the client's WebSocket to the same host and
 * port: CSP Level 3 §6.7.2.8 ("Does url match expression in origin with
 * redirect count?") lets `'self'` match `ws:`/`wss:` when the page's origin is
 * `http:`/`https:` on that host and port. Current browsers do this; a very old
 * one (CSP Level 2) would need `wss:` listed explicitly.
 */
export const CSP_DIRECTIVES = Object.freeze([
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
] as const);

export const CONTENT_SECURITY_POLICY = CSP_DIRECTIVES.join('; ');

/** One year, the value hstspreload.org asks for (RFC 6797 §6.1.1 max-age is in seconds). */
export const HSTS_MAX_AGE_SECONDS = 31_536_000;

/** One response header field: name as sent, value. */
export type HeaderPair = readonly [name: string, value: string];

/** The fields sent on every connection, secure or not. */
const ALWAYS: readonly HeaderPair[] = Object.freeze([
  Object.freeze(['Content-Security-Policy', CONTENT_SECURITY_POLICY] as const),
  // Fetch standard, "X-Content-Type-Options": never sniff a type other than Content-Type's.
  Object.freeze(['X-Content-Type-Options', 'nosniff'] as const),
  // Referrer Policy, "no-referrer": no URL of ours (which may carry a room name) leaks to another site.
  Object.freeze(['Referrer-Policy', 'no-referrer'] as const),
  // RFC 7034 §2.1: for browsers older than CSP `frame-ancestors`.
  Object.freeze(['X-Frame-Options', 'DENY'] as const),
  // HTML standard (COOP): a page we open, or that opens us, gets no handle on our window.
  Object.freeze(['Cross-Origin-Opener-Policy', 'same-origin'] as const),
]);

const WITH_TLS: readonly HeaderPair[] = Object.freeze([
  ...ALWAYS,
  Object.freeze(['Strict-Transport-Security', `max-age=${HSTS_MAX_AGE_SECONDS}`] as const),
]);

/**
 * The security header fields for a response.
 *
 * `Strict-Transport-Security` only when this connection is TLS: RFC 6797 §7.2
 * "An HSTS Host MUST NOT include the STS header field in HTTP responses
 * conveyed over non-secure transport." With `tls = off` behind a
 * TLS-terminating proxy, the proxy is the one to add it.
 *
 * The result is frozen and shared; callers copy it into their own list.
 */
export function securityHeaders(options: { readonly tls: boolean }): readonly HeaderPair[] {
  return options.tls ? WITH_TLS : ALWAYS;
}
