/**
 * The one error type of the storage layer (STYLE.md habit 4). These are
 * faults of the database file or its schema, found at start; the server
 * refuses to start with the message. (A failing query while serving is not
 * wrapped: it reaches the HTTP layer as itself, which logs it in full and
 * answers 500 `internal` with no detail.)
 */

export type StoreErrorCode =
  /** The file could not be opened or made a WAL database. */
  | 'open_failed'
  /** The database records a schema version this code does not know. */
  | 'schema_too_new'
  /** A recorded migration has another name than ours at that version. */
  | 'schema_mismatch';

export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}
