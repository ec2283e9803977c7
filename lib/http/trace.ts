/**
 * The learner's protocol trace for HTTP (`trace = http` in server.conf): each
 * request head, annotated line by line with the rule that read it. Pure: it
 * returns text; the connection logs it.
 *
 * Credentials never reach the log (STYLE.md habit 15): `Authorization`,
 * `Cookie` and the `bearer.` token inside `Sec-WebSocket-Protocol` are
 * replaced by `<redacted>`.
 */
import type { RequestHead } from './request-head.js';

const REDACTED_FIELDS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);

export function redactFieldValue(name: string, value: string): string {
  if (REDACTED_FIELDS.has(name)) return value.replace(/^(\S+)\s.*$/, '$1 <redacted>').replace(/^[^ ]+$/, '<redacted>');
  if (name === 'sec-websocket-protocol') return value.replace(/bearer\.[^,\s]*/gi, 'bearer.<redacted>');
  return value;
}

export function describeRequestHead(head: RequestHead): string {
  const lines: string[] = [];
  lines.push(`request-line (RFC 9112 §3): method=${head.method}  target=${head.target}  version=HTTP/${head.version}`);
  head.headers.forEach(([name, value], i) => {
    lines.push(`  field ${String(i + 1).padStart(2)} (RFC 9112 §5): ${name}: ${redactFieldValue(name, value)}`);
  });
  const framing =
    head.framing.kind === 'none'
      ? 'no body (neither Content-Length nor Transfer-Encoding, RFC 9112 §6.3 rule 7)'
      : head.framing.kind === 'length'
        ? `a body of ${head.framing.length} bytes (Content-Length, RFC 9112 §6.3 rule 6)`
        : 'a chunked body (Transfer-Encoding: chunked, RFC 9112 §7.1)';
  lines.push(`  framing: ${framing}`);
  lines.push(
    `  connection: ${head.keepAlive ? 'stays open after the response' : 'closes after the response'} (RFC 9112 §9.3: HTTP/${head.version}${head.version === '1.1' ? ' is persistent unless "close"' : ' needs "keep-alive"'})`,
  );
  if (head.expectContinue) lines.push('  expect: 100-continue — the client waits for "100 Continue" before the body (RFC 9110 §10.1.1)');
  if (head.upgrade !== null) lines.push(`  upgrade: ${head.upgrade} (RFC 9110 §7.8; a WebSocket handshake if it is "websocket", RFC 6455 §4.2.1)`);
  return lines.join('\n');
}
