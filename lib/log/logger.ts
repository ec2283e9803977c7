/**
 * Structured logs: one JSON object per line on stdout, with `time`, `level`
 * and `msg` first, then fields. Operators grep them; machines parse them.
 *
 * Never pass a token, password, secret or message text as a field
 * (STYLE.md habit 15): the logger cannot tell a secret from a string.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether a line of this level would be written (to skip building expensive fields). */
  enabled(level: LogLevel): boolean;
  /** Change the threshold at run time (a config reload). */
  setLevel(level: LogLevel): void;
}

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Where lines go; stdout by default. Tests pass an array collector. */
  readonly write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions): Logger {
  let threshold = LEVEL_RANK[options.level];
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));

  function emit(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LEVEL_RANK[level] < threshold) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level, msg };
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        // Errors do not survive JSON.stringify; keep their name and message (a stack only at debug).
        record[k] = v instanceof Error ? describeError(v, threshold <= LEVEL_RANK.debug) : v;
      }
    }
    write(safeStringify(record));
  }

  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    enabled: (level) => LEVEL_RANK[level] >= threshold,
    setLevel: (level) => {
      threshold = LEVEL_RANK[level];
    },
  };
}

/** A logger that drops everything (for unit tests of components that log). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  enabled: () => false,
  setLevel: () => {},
};

function describeError(err: Error, withStack: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (withStack && err.stack) out.stack = err.stack;
  return out;
}

function safeStringify(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    // A cyclic field: keep the line, lose the fields rather than the event.
    return JSON.stringify({ time: record.time, level: record.level, msg: record.msg, note: 'fields not serialisable' });
  }
}
