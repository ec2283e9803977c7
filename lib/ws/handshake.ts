/**
 * The server's side of the opening handshake (RFC 6455 §4.2), as pure
 * functions: read the client's upgrade request from a parsed RequestHead,
 * compute Sec-WebSocket-Accept, and write the 101 response head.
 *
 * Follows RFC 6455 §4.2.1 (reading the client's opening handshake), §4.2.2
 * (sending the server's opening handshake), §4.4 (version negotiation) and
 * §1.3 (the accept key). A refusal is an HttpError, answered by the HTTP
 * layer like any other error (API.md: 400, 405 or 426).
 *
 * Choosing a subprotocol, checking Origin and authenticating belong to the
 * application; this file only hands it what the client offered.
 */
import { sha1 } from '@noble/hashes/legacy.js';
import { HttpError } from '../http/http-error.js';
import { headerList, headerValue, headerValues, type RequestHead } from '../http/request-head.js';
import { WS_GUID, WS_VERSION } from './constants.js';

export interface ParsedHandshake {
  /** Sec-WebSocket-Key, checked to be canonical base64 of 16 bytes. */
  readonly key: string;
  /** Sec-WebSocket-Protocol: the subprotocols offered, in order of preference (case-sensitive, §4.1 item 10). */
  readonly protocols: readonly string[];
  /** Sec-WebSocket-Extensions as sent; we accept none (§9.1). */
  readonly extensions: readonly string[];
  /** Origin, if sent (§4.2.1 item 7, §10.2); checking it is the application's job. */
  readonly origin: string | undefined;
}

/** A base64 string of 16 bytes: 22 characters, then "==" (RFC 4648 §4). */
const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;
const KEY_BYTES = 16;

/** tchar of RFC 9110 §5.6.2: the characters of a token, such as a subprotocol name (§4.1 item 10). */
const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Header names and values we write must not break the response head. */
const SAFE_FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function badRequest(message: string): HttpError {
  return new HttpError(400, 'bad_request', message);
}

/**
 * Read a client's opening handshake (RFC 6455 §4.2.1), or the HttpError to
 * refuse it with. The checks follow the order of the section's list, except
 * that the version comes before the key (see step 5).
 */
export function parseHandshake(head: RequestHead): ParsedHandshake | HttpError {
  // 1. "An HTTP/1.1 or higher GET request" (§4.2.1 item 1).
  if (head.method !== 'GET') {
    return new HttpError(405, 'method_not_allowed', 'a WebSocket handshake is a GET request', {
      headers: { Allow: 'GET' },
    });
  }
  if (head.version !== '1.1') return badRequest('a WebSocket handshake needs HTTP/1.1');

  // 2. "A |Host| header field containing the server's authority." (item 2)
  const hosts = headerValues(head, 'host');
  if (hosts.length !== 1 || hosts[0] === '') return badRequest('a WebSocket handshake needs one Host header');

  // 3. "An |Upgrade| header field containing the value "websocket", treated
  //    as an ASCII case-insensitive value." (item 3) — one of the list.
  const upgrades = headerList(head, 'upgrade').map((token) => token.toLowerCase());
  if (!upgrades.includes('websocket')) return badRequest('not a WebSocket upgrade (Upgrade: websocket is missing)');

  // 4. "A |Connection| header field that includes the token "Upgrade",
  //    treated as an ASCII case-insensitive value." (item 4)
  const connection = headerList(head, 'connection').map((token) => token.toLowerCase());
  if (!connection.includes('upgrade')) return badRequest('not a WebSocket upgrade (Connection: Upgrade is missing)');

  // 5. "A |Sec-WebSocket-Version| header field, with a value of 13." (item 6)
  //    Checked before the key (item 5), so that a client speaking another
  //    version, whose key may look different, still learns which version we
  //    speak: "the server MUST ... respond with a |Sec-WebSocket-Version|
  //    header field ... containing all versions it is willing to understand"
  //    with "an appropriate HTTP error code (such as 426 Upgrade Required)" (§4.4).
  const versions = headerList(head, 'sec-websocket-version');
  if (versions.length === 0) return badRequest('Sec-WebSocket-Version is missing');
  if (versions.length !== 1 || versions[0] !== WS_VERSION) {
    return new HttpError(426, 'bad_request', 'only WebSocket version 13 is supported', {
      headers: { 'Sec-WebSocket-Version': WS_VERSION },
    });
  }

  // 6. "A |Sec-WebSocket-Key| header field with a base64-encoded value that,
  //    when decoded, is 16 bytes in length." (item 5) Exactly one, and in the
  //    one canonical spelling, so that nothing else can pass as a key.
  const keys = headerValues(head, 'sec-websocket-key');
  if (keys.length !== 1) return badRequest('a WebSocket handshake needs exactly one Sec-WebSocket-Key');
  const key = keys[0]!;
  if (!isCanonicalKey(key)) return badRequest('Sec-WebSocket-Key is not base64 of 16 bytes');

  // 7. Subprotocols offered: "MUST be non-empty strings with characters in
  //    the range U+0021 to U+007E not including separator characters ... and
  //    MUST all be unique strings" (§4.1 item 10; item 8 of §4.2.1).
  const protocols = headerList(head, 'sec-websocket-protocol');
  if (!protocols.every((protocol) => TOKEN_PATTERN.test(protocol))) {
    return badRequest('Sec-WebSocket-Protocol holds something other than tokens');
  }
  if (new Set(protocols).size !== protocols.length) return badRequest('Sec-WebSocket-Protocol repeats a value');

  // 8. Extensions offered (item 9): noted, and declined by not answering (§9.1).
  const extensions = headerList(head, 'sec-websocket-extensions');

  // 9. No request body: the bytes after the head are WebSocket frames once
  //    the server switches protocols (§4.2.2, §5), so a body could only be
  //    misread as frames.
  if (head.framing.kind === 'chunked' || (head.framing.kind === 'length' && head.framing.length > 0)) {
    return badRequest('a WebSocket handshake has no body');
  }

  return { key, protocols, extensions, origin: headerValue(head, 'origin') };
}

/** Sec-WebSocket-Key is the base64 of 16 bytes, spelled the one way base64 spells them (RFC 4648 §3.5). */
function isCanonicalKey(key: string): boolean {
  if (!KEY_PATTERN.test(key)) return false;
  const bytes = Buffer.from(key, 'base64');
  return bytes.length === KEY_BYTES && bytes.toString('base64') === key;
}

/**
 * Sec-WebSocket-Accept (RFC 6455 §4.2.2 item 5.4, §1.3): "concatenate this
 * with the Globally Unique Identifier ... take the SHA-1 hash of this
 * concatenated value to obtain a 20-byte value and base64-encode".
 */
export function acceptKey(key: string): string {
  const digest = sha1(Buffer.from(key + WS_GUID, 'latin1'));
  return Buffer.from(digest).toString('base64');
}

/**
 * The server's opening handshake, a complete response head (RFC 6455
 * §4.2.2 item 5): "HTTP/1.1 101 Switching Protocols", Upgrade, Connection,
 * Sec-WebSocket-Accept, and Sec-WebSocket-Protocol when one was chosen.
 * No Sec-WebSocket-Extensions: we decline every extension by not naming it (§9.1).
 */
export function handshakeResponse(
  key: string,
  protocol: string | null,
  extraHeaders: Readonly<Record<string, string>> = {},
): Buffer {
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${acceptKey(key)}`,
  ];
  if (protocol !== null) {
    // "a single value representing the subprotocol the server is ready to use" (§4.2.2 item 5.4)
    if (!TOKEN_PATTERN.test(protocol)) throw new RangeError('a subprotocol is a token (RFC 6455 §4.1)');
    lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
  }
  for (const [name, value] of Object.entries(extraHeaders)) {
    if (!TOKEN_PATTERN.test(name) || !SAFE_FIELD_VALUE.test(value)) {
      throw new RangeError(`header ${JSON.stringify(name)} cannot be written safely`);
    }
    lines.push(`${name}: ${value}`);
  }
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
}
