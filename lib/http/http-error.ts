/**
 * The one error type of the HTTP layer (STYLE.md habit 4). It carries its wire
 * consequence: the status line to send and the stable `code` of API.md's error
 * body. It is turned into a response in exactly one place, the connection.
 *
 * `message` is for people and must never hold a secret, a path or a stack.
 */

/** The stable machine words of API.md's error body. */
export type ErrorCode =
  | 'bad_request'
  | 'invalid_json'
  | 'validation_failed'
  | 'unauthorized'
  | 'invalid_token'
  | 'token_expired'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'username_taken'
  | 'invalid_credentials'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'not_implemented'
  | 'draining'
  | 'internal';

export interface HttpErrorOptions {
  /** Extra response headers, e.g. `Allow` with 405, `Retry-After` with 429. */
  readonly headers?: Readonly<Record<string, string>>;
  /** For `validation_failed`: the request field at fault. */
  readonly field?: string;
  /** The connection cannot be reused after this error (framing is lost): send `Connection: close`. */
  readonly close?: boolean;
}

export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly headers: Readonly<Record<string, string>>;
  readonly field: string | undefined;
  readonly close: boolean;

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    options: HttpErrorOptions = {},
  ) {
    super(message);
    this.headers = options.headers ?? {};
    this.field = options.field;
    this.close = options.close ?? false;
  }
}
