/**
 * `--check-config`, in the manner of `nginx -t`: parse `server.conf`, look at
 * the files it names, and print either the effective settings or every
 * problem. The bin wiring prints `output` and exits 0 when `ok`, else 1.
 *
 * Also the one-line summary of a configuration for the startup log.
 *
 * Secrets (schema `secret: true`, e.g. `metrics_token`) are printed as
 * `<redacted>` (STYLE.md habit 15).
 */
import { accessSync, constants as fsConstants, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { formatProblem, parseConfigFile, type ConfigProblem } from './parse.js';
import { KEY_SPECS, type Config, type ConfigKey, type KeySpec } from './schema.js';
import { formatSize, formatValue } from './value-syntax.js';

export interface CheckResult {
  readonly ok: boolean;
  readonly output: string;
}

export const REDACTED = '<redacted>';
/** How an empty value is shown, so that `key = (empty)` is not misread. */
const EMPTY = '(empty)';
/** The database file inside data_dir when db_path is empty. */
export const DEFAULT_DB_FILE = 'chat.db';

/**
 * Checks the file at `path`:
 *   1. read and parse it (syntax, types, ranges, cross-key rules);
 *   2. when that passes, check the files and folders it names exist
 *      (relative paths from the working directory, as the server reads them);
 *   3. print the effective settings, `(default)` after a value equal to the
 *      default, or every problem.
 */
export function checkConfig(path: string): CheckResult {
  const { config, problems, lines } = parseConfigFile(path);
  const all = problems.length > 0 ? problems : checkFiles(config, path, lines);

  if (all.length > 0) {
    const count = all.length === 1 ? '1 problem' : `${all.length} problems`;
    return { ok: false, output: [...all.map(formatProblem), `${path}: test failed, ${count}`].join('\n') + '\n' };
  }
  const settings = KEY_SPECS.map((spec) => {
    const value = config[spec.key];
    const marker = formatValue(spec, value) === formatValue(spec, spec.default) ? ' (default)' : '';
    return `${spec.key} = ${shownValue(spec, value)}${marker}`;
  });
  return { ok: true, output: [`${path}: syntax is ok`, ...settings].join('\n') + '\n' };
}

/**
 * One line for the startup log: where the server listens, its files and its
 * main limits. Secrets appear only as "set".
 */
export function describeConfigSummary(config: Config): string {
  const scheme = config.tls ? 'https' : 'http';
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const certificate = !config.tls ? 'tls off' : config.cert_file === '' ? `tls on, self-signed certificate in ${config.data_dir}` : `tls on, certificate ${config.cert_file}`;
  const parts = [
    `listening on ${scheme}://${host}:${config.port} (${certificate})`,
    `data_dir ${config.data_dir}, database ${databasePath(config)}, public_dir ${config.public_dir}`,
    `max_connections ${config.max_connections} (${config.max_connections_per_ip} per address)`,
    `max_body_bytes ${formatSize(config.max_body_bytes)}, ws_max_message_bytes ${formatSize(config.ws_max_message_bytes)}`,
    `log_level ${config.log_level}`,
    `metrics_token ${config.metrics_token === '' ? 'unset (loopback only)' : 'set'}`,
  ];
  if (config.trace.length > 0) parts.push(`trace ${config.trace.join(', ')}${config.trace_payloads ? ' with payloads' : ''}`);
  return parts.join('; ');
}

/** db_path, or chat.db inside data_dir when it is empty. */
export function databasePath(config: Config): string {
  return config.db_path !== '' ? config.db_path : join(config.data_dir, DEFAULT_DB_FILE);
}

// ---------------------------------------------------------------------------

function shownValue(spec: KeySpec, value: Config[ConfigKey]): string {
  const text = formatValue(spec, value);
  if (text === '') return EMPTY;
  return spec.secret === true ? REDACTED : text;
}

type PathKind = 'file' | 'directory';
type PathKey = 'cert_file' | 'key_file' | 'public_dir' | 'data_dir' | 'db_path';

/** What each path key must be when it is set; `mayBeMissing`: the server creates it. */
const PATH_CHECKS: readonly { readonly key: PathKey; readonly kind: PathKind; readonly mayBeMissing: boolean }[] = [
  { key: 'cert_file', kind: 'file', mayBeMissing: false },
  { key: 'key_file', kind: 'file', mayBeMissing: false },
  { key: 'public_dir', kind: 'directory', mayBeMissing: false },
  { key: 'data_dir', kind: 'directory', mayBeMissing: true },
  { key: 'db_path', kind: 'file', mayBeMissing: true },
];

/** The files and folders the configuration names, as `nginx -t` opens its certificates. */
function checkFiles(config: Config, file: string, lines: Readonly<Partial<Record<ConfigKey, number>>>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const { key, kind, mayBeMissing } of PATH_CHECKS) {
    const path = config[key];
    if (path === '') continue;
    const message = pathProblem(path, kind, mayBeMissing);
    if (message !== undefined) problems.push({ file, line: lines[key] ?? 0, key, message });
  }
  return problems;
}

function pathProblem(path: string, kind: PathKind, mayBeMissing: boolean): string | undefined {
  let stats: Stats | undefined;
  try {
    stats = statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    return `${path} cannot be examined (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`;
  }
  if (stats === undefined) return mayBeMissing ? undefined : `${path} does not exist`;
  if (kind === 'directory' && !stats.isDirectory()) return `${path} is not a directory`;
  if (kind === 'file' && !stats.isFile()) return `${path} is not a file`;
  try {
    accessSync(path, fsConstants.R_OK);
  } catch (error) {
    return `${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`;
  }
  return undefined;
}
