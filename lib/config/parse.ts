/**
 * The `server.conf` parser: text in, a typed `Config` and every problem out.
 *
 * The file format (documented for operators in docs/configuration-keys.md):
 *
 *   - one `key = value` per line; whitespace around key and value is trimmed;
 *     the value is everything after the first `=`, so it may contain `=`;
 *   - `#` starts a comment when it begins the line or follows whitespace, so
 *     `port = 8443  # note` is a comment but `x = a#b` keeps `a#b` (a value
 *     cannot contain " #");
 *   - blank lines are ignored; a UTF-8 byte order mark is skipped; LF or CRLF;
 *   - each key at most once: a second line for a key is a problem naming the
 *     first; a key not in the file takes its default.
 *
 * The parser never stops at the first problem: an operator fixes a file in
 * one pass. Where a key has a problem the returned config holds its default
 * (or the first value, for a duplicate), so callers may still look at it —
 * but a server must not start while `problems` is not empty; `loadConfig`
 * enforces that by throwing `ConfigError`.
 */
import { readFileSync } from 'node:fs';
import { CROSS_RULES } from './cross-checks.js';
import { nearest } from './edit-distance.js';
import { KEY_SPECS, SPEC_BY_KEY, type Config, type ConfigKey } from './schema.js';
import { parseValue, type ConfigValue } from './value-syntax.js';

/** One thing wrong with a configuration file. `line` is 1-based; 0 means the file as a whole. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly key?: string;
  readonly message: string;
}

export interface ParseResult {
  readonly config: Config;
  readonly problems: ConfigProblem[];
  /** The line each key was set on; keys left at their default are absent. */
  readonly lines: Readonly<Partial<Record<ConfigKey, number>>>;
}

/**
 * sysexits.h EX_CONFIG: "Something was found in an unconfigured or
 * misconfigured state." The exit status for a server that cannot start.
 */
export const EX_CONFIG = 78;

/** The configuration layer's one error: the server refuses to start (exit status EX_CONFIG). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = EX_CONFIG;

  constructor(readonly problems: readonly ConfigProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`${count} in the configuration:\n${problems.map(formatProblem).join('\n')}`);
  }
}

/** Keys an operator may reasonably try that are deliberately not keys, with the reason. */
const NOT_KEYS: Readonly<Record<string, string>> = {
  secret_key: 'not a server.conf key: the signing key is read from the SECRET_KEY environment variable, never from a file',
};

/** What a key looks like: lower case, digits and underscores. */
const KEY_NAME = /^[a-z][a-z0-9_]*$/;
const BYTE_ORDER_MARK = '\uFEFF';

/** `server.conf:12: max_conections: unknown key — did you mean "max_connections"?` */
export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}` : problem.file;
  return problem.key === undefined ? `${where}: ${problem.message}` : `${where}: ${problem.key}: ${problem.message}`;
}

/** Every key at its default. A fresh frozen object each call. */
export function defaultConfig(): Config {
  return buildConfig(new Map());
}

/**
 * Parses the text of a configuration file. Pure: `fileName` is only used in
 * the problems. Returns every problem found, in line order (a cross-key
 * problem at the line of the key it is reported on).
 */
export function parseConfig(text: string, fileName: string): ParseResult {
  const problems: ConfigProblem[] = [];
  const values = new Map<ConfigKey, ConfigValue>();
  const lines: Partial<Record<ConfigKey, number>> = {};
  /** Keys whose own value is bad; cross-key rules reading them are skipped. */
  const badKeys = new Set<ConfigKey>();
  const report = (line: number, key: string | undefined, message: string): void => {
    problems.push(key === undefined ? { file: fileName, line, message } : { file: fileName, line, key, message });
  };

  const body = text.startsWith(BYTE_ORDER_MARK) ? text.slice(1) : text;
  body.split('\n').forEach((rawLine, index) => {
    const lineNumber = index + 1;
    // 1. Drop the line end and the comment, then surrounding whitespace.
    const content = stripComment(rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine).trim();
    if (content === '') return;

    // 2. Split at the first "=".
    const equals = content.indexOf('=');
    if (equals === -1) {
      const hint = SPEC_BY_KEY.has(content) ? `; write "${content} = value"` : '';
      report(lineNumber, undefined, `expected "key = value", found ${JSON.stringify(content)}${hint}`);
      return;
    }
    const key = content.slice(0, equals).trim();
    const raw = content.slice(equals + 1).trim();
    if (key === '') {
      report(lineNumber, undefined, 'a line starts with "=": the key is missing');
      return;
    }

    // 3. The key must be known, and set once.
    const spec = SPEC_BY_KEY.get(key);
    if (spec === undefined) {
      report(lineNumber, key, unknownKeyMessage(key));
      return;
    }
    const firstLine = lines[spec.key];
    if (firstLine !== undefined) {
      report(lineNumber, key, `duplicate key; already set on line ${firstLine}`);
      return;
    }
    lines[spec.key] = lineNumber;

    // 4. The value must fit the key's type and range.
    const parsed = parseValue(spec, raw);
    if (parsed.ok) {
      values.set(spec.key, parsed.value);
    } else {
      badKeys.add(spec.key);
      report(lineNumber, key, parsed.message);
    }
  });

  // 5. Rules between keys, on the values as they will be used.
  const config = buildConfig(values);
  for (const rule of CROSS_RULES) {
    if (rule.keys.some((key) => badKeys.has(key))) continue;
    const message = rule.problem(config);
    if (message === undefined) continue;
    const where = rule.keys.find((key) => lines[key] !== undefined) ?? rule.keys[0]!;
    report(lines[where] ?? 0, where, message);
  }

  // Stable sort: an operator reads the file top to bottom.
  problems.sort((a, b) => a.line - b.line);
  return { config, problems, lines };
}

/**
 * Reads and parses a file; a file that cannot be read or is not UTF-8 is one
 * problem at line 0. Relative paths are taken from the working directory.
 */
export function parseConfigFile(path: string): ParseResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    return { config: defaultConfig(), problems: [{ file: path, line: 0, message: `cannot read the file (${code})` }], lines: {} };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // A TypeError is the decoder's only failure: the bytes are not UTF-8. Nothing else to keep from it.
    return { config: defaultConfig(), problems: [{ file: path, line: 0, message: 'is not valid UTF-8' }], lines: {} };
  }
  return parseConfig(text, path);
}

/** Reads, parses and checks a file; throws `ConfigError` listing every problem. */
export function loadConfig(path: string): Config {
  const { config, problems } = parseConfigFile(path);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

// ---------------------------------------------------------------------------

/** Cuts the line at the first "#" that starts it or follows whitespace. */
function stripComment(line: string): string {
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) return line.slice(0, i);
  }
  return line;
}

function unknownKeyMessage(key: string): string {
  const normalized = key.toLowerCase().replaceAll('-', '_');
  const reason = NOT_KEYS[normalized];
  if (reason !== undefined) return reason;
  const suggestion = nearest(key, [...SPEC_BY_KEY.keys()]);
  if (suggestion !== undefined) return `unknown key — did you mean "${suggestion}"?`;
  const shape = KEY_NAME.test(key) ? '' : ' (keys are lower case letters, digits and _)';
  return `unknown key${shape}; docs/configuration-keys.md lists them all`;
}

/** Every key: the parsed value where there is one, else the default. Frozen. */
function buildConfig(values: ReadonlyMap<ConfigKey, ConfigValue>): Config {
  const entries = KEY_SPECS.map((spec) => {
    const value = values.get(spec.key) ?? spec.default;
    return [spec.key, Array.isArray(value) ? Object.freeze([...value]) : value] as const;
  });
  // The schema guarantees (at compile time) one entry per Config key with a default of its type,
  // and parseValue returns values of the entry's type, so the object is a Config.
  return Object.freeze(Object.fromEntries(entries)) as unknown as Config;
}
