/**
 * The head half of the request parser: the grammar of the request-line and of
 * one field line, and what the complete header section means — Host, body
 * framing, persistence, Expect and Upgrade. Pure functions over one line or one
 * finished header section; `request-parser.ts` owns the bytes and the states.
 *
 * Follows:
 * - RFC 9112 §3 (request-line), §3.2 (request-target forms, Host),
 *   §5 (field lines, no whitespace before the colon, obs-fold),
 *   §6.1–6.3 (Transfer-Encoding, Content-Length, message body length),
 *   §9.3 (persistence).
 * - RFC 9110 §5.5–5.6 (field values, lists, tokens), §7.8 (Upgrade),
 *   §8.6 (Content-Length), §10.1.1 (Expect).
 *
 * Every function here throws an HttpError for a request it refuses; the parser
 * turns that into its sticky failure. Every such error has `close: true`: after
 * a malformed head the byte stream can no longer be trusted to be framed the way
 * we think, so the connection must not carry another request. Messages never
 * repeat what the client sent (a target or a field value may hold a secret).
 */
import { HttpError, type ErrorCode } from './http-error.js';
import type { BodyFraming, HeaderField, HttpVersion, RequestHead } from './request-head.js';
import {
  ALPHA,
  DIGIT,
  FIELD_VALUE_CHAR,
  HEXDIG,
  IP_LITERAL_CHAR,
  OWS,
  REG_NAME_CHAR,
  SCHEME_CHAR,
  TARGET_CHAR,
  TCHAR,
  isToken,
  skipQuotedString,
} from './token-chars.js';

/** The statuses this layer can answer with, by their RFC 9110 §15 names. */
export const STATUS = {
  BAD_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  EXPECTATION_FAILED: 417,
  REQUEST_HEADER_FIELDS_TOO_LARGE: 431,
  NOT_IMPLEMENTED: 501,
  HTTP_VERSION_NOT_SUPPORTED: 505,
} as const;

/** A parse error: always `close: true` (see the header comment). */
export function parseError(status: number, code: ErrorCode, message: string): HttpError {
  return new HttpError(status, code, message, { close: true });
}

export function badRequest(message: string): HttpError {
  return parseError(STATUS.BAD_REQUEST, 'bad_request', message);
}

/** The versions we speak; any other well-formed HTTP-version is a 505 (RFC 9110 §15.6.6). */
const SUPPORTED_VERSIONS: ReadonlySet<string> = new Set<HttpVersion>(['1.0', '1.1']);

/** HTTP-version = HTTP-name "/" DIGIT "." DIGIT, HTTP-name = %s"HTTP" — case-sensitive (RFC 9112 §2.3). */
const HTTP_VERSION = /^HTTP\/([0-9])\.([0-9])$/;

/** The parsed request-line (RFC 9112 §3). */
export interface RequestLine {
  readonly method: string;
  readonly target: string;
  readonly version: HttpVersion;
}

// --- Request-line (RFC 9112 §3) ---------------------------------------------

/**
 * Parse a request-line (its bytes without the CRLF):
 *
 *   request-line = method SP request-target SP HTTP-version
 *
 * Exactly one SP between the parts. RFC 9112 §3 lets a recipient split on any
 * whitespace; we do not, because parsers that disagree on where the target ends
 * are what smuggling is made of.
 */
export function parseRequestLine(line: Buffer): RequestLine {
  const parts = line.toString('latin1').split(' ');
  if (parts.length !== 3) throw badRequest('the request-line must be method SP request-target SP HTTP-version');
  const [method, target, versionText] = parts as [string, string, string];

  // 1. HTTP-version (checked first, so an HTTP/2 preface gets a 505, not a complaint about its target).
  const match = HTTP_VERSION.exec(versionText);
  if (match === null) throw badRequest('malformed HTTP-version in the request-line');
  const version = `${match[1]}.${match[2]}`;
  if (!SUPPORTED_VERSIONS.has(version)) {
    throw parseError(STATUS.HTTP_VERSION_NOT_SUPPORTED, 'bad_request', `HTTP/${version} is not supported; use HTTP/1.1`);
  }

  // 2. method = token (RFC 9110 §9.1). Any token is accepted here; the router answers unknown ones.
  if (!isToken(method)) throw badRequest('the method must be a token');

  // 3. request-target and its form (RFC 9112 §3.2).
  checkRequestTarget(method, target);

  return { method, target, version: version as HttpVersion };
}

/**
 * RFC 9112 §3.2: request-target = origin-form / absolute-form / authority-form / asterisk-form.
 * Which form is allowed depends on the method.
 */
function checkRequestTarget(method: string, target: string): void {
  if (target === '') throw badRequest('empty request-target');
  if (!TARGET_CHAR.hasAll(target)) {
    throw badRequest('the request-target may hold only visible ASCII characters and no fragment');
  }
  // RFC 9112 §3.2.3: "The authority-form is only used for CONNECT requests", and a CONNECT
  // request sends "only the host and port number of the tunnel destination".
  if (method === 'CONNECT') {
    if (!isAuthority(target, { requireHost: true, requirePort: true })) {
      throw badRequest('a CONNECT request-target must be authority-form (host:port)');
    }
    return;
  }
  // RFC 9112 §3.2.4: "The asterisk-form of request-target is only used for a server-wide
  // OPTIONS request".
  if (target === '*') {
    if (method !== 'OPTIONS') throw badRequest('the asterisk-form request-target is only for OPTIONS');
    return;
  }
  // RFC 9112 §3.2.1: origin-form = absolute-path [ "?" query ].
  if (target.startsWith('/')) return;
  // RFC 9112 §3.2.2: "A server MUST accept the absolute-form in requests".
  if (isAbsoluteForm(target)) return;
  throw badRequest('the request-target is not origin-form, absolute-form, authority-form or asterisk-form');
}

/**
 * absolute-form = absolute-URI (RFC 9112 §3.2.2). We accept the hierarchical
 * shape that HTTP's own schemes use, `scheme "://" authority path-abempty
 * [ "?" query ]` (RFC 9110 §4.2.1), and nothing looser.
 */
function isAbsoluteForm(target: string): boolean {
  const colon = target.indexOf(':');
  if (colon < 1 || !ALPHA.has(target.charCodeAt(0)) || !SCHEME_CHAR.hasAll(target.slice(1, colon))) return false;
  if (!target.startsWith('//', colon + 1)) return false;
  const authorityStart = colon + 3;
  let authorityEnd = authorityStart;
  while (authorityEnd < target.length && target[authorityEnd] !== '/' && target[authorityEnd] !== '?') authorityEnd++;
  // RFC 9110 §4.2.4: userinfo is deprecated; "A recipient SHOULD parse for userinfo and
  // treat its presence as an error". RFC 9110 §4.2.1: an empty host "MUST" be rejected.
  return isAuthority(target.slice(authorityStart, authorityEnd), { requireHost: true, requirePort: false });
}

// --- uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2–3.2.3) -----------

interface AuthorityRules {
  readonly requireHost: boolean;
  readonly requirePort: boolean;
}

/**
 * Whether `text` is a plausible `uri-host [ ":" port ]`: an IP-literal in
 * brackets, or a reg-name (which also covers IPv4address) with well-formed
 * pct-encoding; then optionally ":" and digits. A plausibility test of the
 * characters, not a full IPv6 grammar.
 */
export function isAuthority(text: string, rules: AuthorityRules): boolean {
  let host: string;
  let rest: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 2 || !IP_LITERAL_CHAR.hasAll(text.slice(1, close))) return false;
    host = text.slice(0, close + 1);
    rest = text.slice(close + 1);
  } else {
    const colon = text.indexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    rest = colon === -1 ? '' : text.slice(colon);
    if (!isRegName(host)) return false;
  }
  if (rules.requireHost && host === '') return false;
  if (rest === '') return !rules.requirePort;
  // port = *DIGIT; a port we require must have at least one digit.
  if (rest[0] !== ':' || !DIGIT.hasAll(rest.slice(1))) return false;
  return !rules.requirePort || rest.length > 1;
}

/** reg-name = *( unreserved / pct-encoded / sub-delims ), pct-encoded = "%" HEXDIG HEXDIG (RFC 3986 §2.1). */
function isRegName(text: string): boolean {
  if (!REG_NAME_CHAR.hasAll(text)) return false;
  for (let i = text.indexOf('%'); i !== -1; i = text.indexOf('%', i + 1)) {
    if (!HEXDIG.has(text.charCodeAt(i + 1)) || !HEXDIG.has(text.charCodeAt(i + 2))) return false;
  }
  return true;
}

// --- One field line (RFC 9112 §5, RFC 9110 §5.5) ----------------------------

/**
 * Parse one field line (its bytes without the CRLF):
 *
 *   field-line  = field-name ":" OWS field-value OWS
 *   field-name  = token
 *
 * The name is returned lower-cased (field names are case-insensitive,
 * RFC 9110 §5.1); the value without its surrounding OWS, decoded as latin1 so
 * each obs-text byte stays one character.
 */
export function parseFieldLine(line: Buffer): HeaderField {
  const text = line.toString('latin1');
  // RFC 9112 §5.2: obs-fold (a line starting with SP or HTAB continues the previous one).
  // "A server that receives an obs-fold in a request message ... MUST either reject the
  // message by sending a 400 (Bad Request) ... or replace each received obs-fold with one
  // or more SP octets". We reject. The same check refuses whitespace between the
  // request-line and the first field (RFC 9112 §2.2).
  if (OWS.has(text.charCodeAt(0))) throw badRequest('obsolete line folding (a field line starting with whitespace) is not allowed');

  const colon = text.indexOf(':');
  if (colon === -1) throw badRequest('a field line has no colon');
  const name = text.slice(0, colon);
  // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon. ... A server
  // MUST reject, with a response status code of 400 (Bad Request), any received request
  // message that contains whitespace between a header field name and colon."
  if (name.length > 0 && OWS.has(name.charCodeAt(name.length - 1))) {
    throw badRequest('whitespace between a field name and its colon is not allowed');
  }
  if (!isToken(name)) throw badRequest('a field name must be a token');

  const value = trimOws(text.slice(colon + 1));
  // RFC 9110 §5.5: field-value = *field-content, built of VCHAR, obs-text, SP and HTAB.
  if (!FIELD_VALUE_CHAR.hasAll(value)) throw badRequest('a field value holds a control character');
  return [name.toLowerCase(), value];
}

/** Remove leading and trailing OWS (SP / HTAB only; RFC 9110 §5.6.3). */
function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && OWS.has(text.charCodeAt(start))) start++;
  while (end > start && OWS.has(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

// --- The finished header section --------------------------------------------

/**
 * Turn a request-line and its field lines into a RequestHead, in the order a
 * server must decide things:
 *
 *   1. Host (RFC 9112 §3.2)
 *   2. body framing: Transfer-Encoding and Content-Length (RFC 9112 §6.1–6.3)
 *   3. the body size against `maxBodyBytes` (413 before any body byte is read)
 *   4. persistence from Connection (RFC 9112 §9.3)
 *   5. Expect (RFC 9110 §10.1.1)
 *   6. Upgrade (RFC 9110 §7.8)
 */
export function buildRequestHead(line: RequestLine, headers: readonly HeaderField[], maxBodyBytes: number): RequestHead {
  const { version } = line;

  // 1. RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any
  //    HTTP/1.1 request message that lacks a Host header field and to any request message
  //    that contains more than one Host header field line or a Host header field with an
  //    invalid field value."
  const hosts = valuesOf(headers, 'host');
  if (hosts.length > 1) throw badRequest('more than one Host field');
  if (hosts.length === 0 && version === '1.1') throw badRequest('an HTTP/1.1 request must have a Host field');
  // An empty Host is allowed: "If the target URI does not have an authority component,
  // a client MUST send a Host header field with an empty field value" (RFC 9112 §3.2).
  if (hosts.length === 1 && !isAuthority(hosts[0]!, { requireHost: false, requirePort: false })) {
    throw badRequest('the Host field is not a valid host[:port]');
  }

  // 2–3.
  const framing = bodyFraming(version, headers, maxBodyBytes);

  // 4. RFC 9112 §9.3: close wins; HTTP/1.1 persists by default; HTTP/1.0 only with keep-alive.
  const options = connectionOptions(headers);
  const keepAlive = !options.has('close') && (version === '1.1' || options.has('keep-alive'));

  // 5. RFC 9110 §10.1.1.
  const expectContinue = expectation(version, headers);

  // 6. RFC 9110 §7.8: the Upgrade field counts only when Connection lists "upgrade"
  //    ("A sender of Upgrade MUST also send an "Upgrade" connection option"), and
  //    "A server MUST ignore an Upgrade header field that is received in an HTTP/1.0 request."
  const upgradeValue = valuesOf(headers, 'upgrade').join(', ');
  const upgrade = version === '1.1' && options.has('upgrade') && upgradeValue !== '' ? upgradeValue : null;

  return { method: line.method, target: line.target, version, headers, framing, keepAlive, expectContinue, upgrade };
}

function valuesOf(headers: readonly HeaderField[], name: string): string[] {
  return headers.filter(([n]) => n === name).map(([, v]) => v);
}

/** The comma-separated elements of every line of a list field, trimmed, empty ones dropped (RFC 9110 §5.6.1). */
function listElements(headers: readonly HeaderField[], name: string): string[] {
  return valuesOf(headers, name)
    .flatMap((value) => value.split(','))
    .map(trimOws)
    .filter((element) => element !== '');
}

/** Connection options are case-insensitive tokens (RFC 9110 §7.6.1). */
function connectionOptions(headers: readonly HeaderField[]): ReadonlySet<string> {
  return new Set(listElements(headers, 'connection').map((option) => option.toLowerCase()));
}

/**
 * RFC 9110 §10.1.1: "A server that receives an Expect field value containing a member
 * other than 100-continue MAY respond with a 417 (Expectation Failed)" — we do.
 * "A server that receives a 100-continue expectation in an HTTP/1.0 request MUST ignore
 * that expectation."
 */
function expectation(version: HttpVersion, headers: readonly HeaderField[]): boolean {
  const EXPECT_CONTINUE = '100-continue';
  const members = listElements(headers, 'expect').map((member) => member.toLowerCase());
  if (members.some((member) => member !== EXPECT_CONTINUE)) {
    throw parseError(STATUS.EXPECTATION_FAILED, 'bad_request', 'the only expectation supported is 100-continue');
  }
  return version === '1.1' && members.length > 0;
}

// --- Body framing (RFC 9112 §6) ---------------------------------------------

const CHUNKED = 'chunked';

/**
 * RFC 9112 §6.3, for a request: Transfer-Encoding with chunked last → chunked;
 * else a valid Content-Length → that many bytes; else no body. Everything
 * ambiguous is refused rather than resolved, since a proxy in front of us may
 * have resolved it the other way.
 */
function bodyFraming(version: HttpVersion, headers: readonly HeaderField[], maxBodyBytes: number): BodyFraming {
  const transferEncodings = valuesOf(headers, 'transfer-encoding');
  const contentLengths = valuesOf(headers, 'content-length');

  // RFC 9112 §6.1: a request with both "MAY" be processed by Transfer-Encoding alone, but
  // "Such a message might indicate an attempt to perform request smuggling". We refuse it.
  if (transferEncodings.length > 0 && contentLengths.length > 0) {
    throw badRequest('a request must not have both Transfer-Encoding and Content-Length');
  }

  if (transferEncodings.length > 0) {
    // RFC 9112 §6.1: "A server or client that receives an HTTP/1.0 message containing a
    // Transfer-Encoding header field MUST treat the message as if the framing is faulty".
    if (version === '1.0') throw badRequest('Transfer-Encoding is not allowed in an HTTP/1.0 request');
    const codings = parseTransferCodings(transferEncodings);
    const last = codings.at(-1);
    // RFC 9112 §6.3 item 4: "If a Transfer-Encoding header field is present in a request and
    // the chunked transfer coding is not the final encoding, the message body length cannot
    // be determined reliably; the server MUST respond with the 400 (Bad Request)".
    if (last === undefined || last.name !== CHUNKED) throw badRequest('the final transfer coding must be chunked');
    // RFC 9112 §6.1: "A sender MUST NOT apply the chunked transfer coding more than once".
    if (codings.filter((coding) => coding.name === CHUNKED).length > 1) throw badRequest('chunked is listed more than once');
    // The chunked coding defines no parameters (RFC 9112 §7.1); one that has some is not the chunked we know.
    if (last.hasParameters) throw badRequest('the chunked transfer coding takes no parameters');
    // RFC 9112 §6.1: "A server that receives a request message with a transfer coding it
    // does not understand SHOULD respond with 501 (Not Implemented)." We decode only chunked.
    if (codings.length > 1) throw parseError(STATUS.NOT_IMPLEMENTED, 'not_implemented', 'only the chunked transfer coding is supported');
    return { kind: 'chunked' };
  }

  if (contentLengths.length > 0) {
    const length = parseContentLength(contentLengths);
    if (length > maxBodyBytes) {
      throw parseError(STATUS.PAYLOAD_TOO_LARGE, 'payload_too_large', `the body is larger than ${maxBodyBytes} bytes`);
    }
    return { kind: 'length', length };
  }

  // RFC 9112 §6.3 item 7: "If this is a request message and none of the above are true, then
  // the message body length is zero".
  return { kind: 'none' };
}

interface TransferCoding {
  /** The coding name, lower-cased (names are case-insensitive, RFC 9112 §7). */
  readonly name: string;
  readonly hasParameters: boolean;
}

/**
 * Parse Transfer-Encoding = #transfer-coding (RFC 9112 §6.1, RFC 9110 §10.1.4):
 *
 *   transfer-coding    = token *( OWS ";" OWS transfer-parameter )
 *   transfer-parameter = token BWS "=" BWS ( token / quoted-string )
 *
 * A proper scanner rather than a split on ",": a quoted parameter may hold a comma.
 * RFC 9110 §5.6.1 asks recipients to ignore empty list elements; in this field
 * that decides the body's framing we refuse them instead (STYLE.md habit 6: no
 * leniency that a front-end might not share), like anything else malformed.
 */
function parseTransferCodings(values: readonly string[]): TransferCoding[] {
  const COMMA = 0x2c;
  const SEMICOLON = 0x3b;
  const EQUALS = 0x3d;
  const DQUOTE = 0x22;
  const malformed = (): HttpError => badRequest('malformed Transfer-Encoding');
  const codings: TransferCoding[] = [];
  for (const text of values) {
    let i = 0;
    for (;;) {
      // One element: OWS transfer-coding OWS, then "," or the end.
      i = OWS.skip(text, i);
      const nameEnd = TCHAR.skip(text, i);
      if (nameEnd === i) throw malformed();
      const name = text.slice(i, nameEnd).toLowerCase();
      i = nameEnd;
      let hasParameters = false;
      for (;;) {
        const semicolon = OWS.skip(text, i);
        if (text.charCodeAt(semicolon) !== SEMICOLON) break;
        const parameterStart = OWS.skip(text, semicolon + 1);
        const parameterEnd = TCHAR.skip(text, parameterStart);
        if (parameterEnd === parameterStart) throw malformed();
        const equals = OWS.skip(text, parameterEnd);
        if (text.charCodeAt(equals) !== EQUALS) throw malformed();
        const valueStart = OWS.skip(text, equals + 1);
        const valueEnd = text.charCodeAt(valueStart) === DQUOTE ? skipQuotedString(text, valueStart) : TCHAR.skip(text, valueStart);
        if (valueEnd === -1 || valueEnd === valueStart) throw malformed();
        i = valueEnd;
        hasParameters = true;
      }
      codings.push({ name, hasParameters });
      i = OWS.skip(text, i);
      if (i === text.length) break;
      if (text.charCodeAt(i) !== COMMA) throw malformed();
      i++;
    }
  }
  return codings;
}

/**
 * Content-Length = 1*DIGIT (RFC 9110 §8.6): no sign, no inner space, no hex.
 *
 * RFC 9110 §8.6: a value "consisting of the same decimal value repeated as a
 * comma-separated list (e.g, "Content-Length: 42, 42")" MAY be replaced by one
 * instance; we do that (also across repeated field lines) when every element is
 * the identical text, and refuse anything else (RFC 9112 §6.3 item 5: "If a
 * message is received without Transfer-Encoding and with an invalid
 * Content-Length header field, then the message framing is invalid").
 */
function parseContentLength(values: readonly string[]): number {
  const elements = values.flatMap((value) => value.split(',')).map(trimOws);
  const first = elements[0]!;
  if (!elements.every((element) => element !== '' && DIGIT.hasAll(element))) throw badRequest('Content-Length must be decimal digits');
  if (!elements.every((element) => element === first)) throw badRequest('Content-Length has differing values');
  // Leading zeros are valid digits; drop them before judging the size.
  const significant = first.replace(/^0+(?=[0-9])/, '');
  const length = significant.length <= String(Number.MAX_SAFE_INTEGER).length ? Number(significant) : Number.POSITIVE_INFINITY;
  // RFC 9112 §6.3: "prevent parsing errors due to integer conversion overflows or precision loss".
  if (!Number.isSafeInteger(length)) throw badRequest('Content-Length is too large to represent');
  return length;
}
