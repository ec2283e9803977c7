/**
 * What the request parser hands upward once a request's head is complete
 * (RFC 9112 §2.1: start-line, header fields, then the body's framing).
 */

export type HttpVersion = '1.0' | '1.1';

/** One header field line. `name` is lower-cased; `value` is trimmed of leading and trailing OWS (RFC 9110 §5.5). */
export type HeaderField = readonly [name: string, value: string];

/** How the body of this request is delimited (RFC 9112 §6.3). */
export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' };

export interface RequestHead {
  /** The method token exactly as sent (methods are case-sensitive, RFC 9110 §9.1). */
  readonly method: string;
  /** The request-target exactly as sent (origin-form, absolute-form, authority-form or `*`). */
  readonly target: string;
  readonly version: HttpVersion;
  /** Every field line in the order received, duplicates kept. */
  readonly headers: readonly HeaderField[];
  readonly framing: BodyFraming;
  /** Whether the connection stays open after this exchange (RFC 9112 §9.3). */
  readonly keepAlive: boolean;
  /** `Expect: 100-continue` was sent (RFC 9110 §10.1.1). */
  readonly expectContinue: boolean;
  /** The `Upgrade` field value when `Connection` lists the `upgrade` option, else null (RFC 9110 §7.8). */
  readonly upgrade: string | null;
}

/** The first value of a header, or undefined. Names are matched lower-case. */
export function headerValue(head: RequestHead, name: string): string | undefined {
  for (const [n, v] of head.headers) if (n === name) return v;
  return undefined;
}

/** Every value of a header, in order (for fields that may repeat). */
export function headerValues(head: RequestHead, name: string): string[] {
  const out: string[] = [];
  for (const [n, v] of head.headers) if (n === name) out.push(v);
  return out;
}

/**
 * A comma-separated list field split into its trimmed, non-empty elements
 * (RFC 9110 §5.6.1), across every line of that field.
 */
export function headerList(head: RequestHead, name: string): string[] {
  const out: string[] = [];
  for (const value of headerValues(head, name)) {
    for (const item of value.split(',')) {
      const trimmed = item.trim();
      if (trimmed !== '') out.push(trimmed);
    }
  }
  return out;
}
