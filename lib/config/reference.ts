/**
 * Writes the two documents made from the schema, so they cannot drift from it:
 *
 *   - the shipped `server.conf`: every key commented out at its default, with
 *     its meaning above and its accepted range beside it;
 *   - `docs/configuration-keys.md`: the reference table of every key;
 *   - the same tables inside `docs/operations.md`, between the markers
 *     OPERATIONS_BEGIN and OPERATIONS_END, so the operator's guide is complete
 *     on its own.
 *
 * Regenerate both after changing `schema.ts`:
 *
 *   npx tsc -p tsconfig.json && node dist/lib/config/reference.js --write
 *
 * `spec/config/shipped-file.spec.ts` fails while either file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KEY_SPECS, SECTIONS, type KeySpec } from './schema.js';
import { describeAccepted, formatValue } from './value-syntax.js';

/** Where the two files live, relative to the repository root. */
export const SHIPPED_CONF_PATH = 'server.conf';
export const REFERENCE_PATH = 'docs/configuration-keys.md';
export const OPERATIONS_PATH = 'docs/operations.md';
export const OPERATIONS_BEGIN = '<!-- server.conf keys: generated from lib/config/schema.ts; do not edit by hand -->';
export const OPERATIONS_END = '<!-- end of server.conf keys -->';

/** `docs/operations.md` with its generated block replaced by the reference's sections (everything after the title). */
export function renderOperations(current: string): string {
  const begin = current.indexOf(OPERATIONS_BEGIN);
  const end = current.indexOf(OPERATIONS_END);
  if (begin === -1 || end < begin) throw new Error(`${OPERATIONS_PATH} lacks the generated-block markers`);
  const body = renderReference()
    .split('\n')
    .filter((line) => !line.startsWith('# ') && !line.startsWith('<!--'))
    .join('\n')
    .replace(/^## /gm, '### ')
    .trim();
  return current.slice(0, begin + OPERATIONS_BEGIN.length) + '\n\n' + body + '\n\n' + current.slice(end);
}

const WRAP_COLUMN = 78;
/** The column where the range comment starts after `# key = default`. */
const RANGE_COLUMN = 40;
/** Longer lines get the accepted values on a line of their own above the setting. */
const MAX_SETTING_LINE = 100;

/** The syntax rules, shared by both documents (one sentence per entry). */
const SYNTAX_RULES = [
  'One setting per line: a key, "=", and a value. Whitespace around the key and the value is ignored.',
  'A "#" starts a comment when it begins a line or follows a space or tab, so a value cannot contain " #" (it may contain "#" elsewhere).',
  'Blank lines are ignored. Each key may appear only once. A key that is not set takes its default.',
  'Values are written without quotes.',
  'Durations need a unit: ms, s, m, h or d (250ms, 10s, 5m, 1h, 7d). A bare number is refused.',
  'Sizes are a number of bytes, or a whole number with B, KiB, MiB or GiB (1KiB is 1024 bytes). KB, MB and GB are refused as ambiguous.',
  'Booleans are on/off, true/false or yes/no. Lists are comma-separated; an empty value is the empty list.',
  'Relative paths are taken from the working directory of the server.',
  '"restart" marks keys read only at start; the others are read where they are used.',
  'The JWT signing key is not a key: it comes from the SECRET_KEY environment variable.',
] as const;

// ---------------------------------------------------------------------------
// The shipped server.conf
// ---------------------------------------------------------------------------

export function renderShippedConf(): string {
  const out: string[] = [
    '# server.conf: the settings of the chat server.',
    '#',
    ...SYNTAX_RULES.flatMap((rule) => wrap(rule, '# ')),
    '#',
    ...wrap('Every key is listed below, commented out at its default, with its accepted values beside it. Delete the "# " in front of a key to change it.', '# '),
    '# Check this file with: npm run check-config',
    `# Every key explained: ${REFERENCE_PATH}`,
  ];
  for (const section of SECTIONS) {
    out.push('', '', `# ${'='.repeat(WRAP_COLUMN - 2)}`, `# ${section.title}`, ...wrap(section.intro, '# '), `# ${'='.repeat(WRAP_COLUMN - 2)}`);
    for (const spec of KEY_SPECS.filter((s) => s.section === section.id)) {
      const setting = `# ${spec.key} = ${formatValue(spec, spec.default)}`.trimEnd();
      const accepted = `${describeAccepted(spec)}${spec.reload === 'restart' ? '; restart' : ''}`;
      const line = `${setting.padEnd(RANGE_COLUMN - 1)} # ${accepted}`;
      out.push('', ...wrap(spec.doc, '# '));
      if (line.length <= MAX_SETTING_LINE) out.push(line);
      else out.push(...wrap(`Accepted: ${accepted}.`, '# '), setting);
    }
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// docs/configuration-keys.md
// ---------------------------------------------------------------------------

export function renderReference(): string {
  const out: string[] = [
    '# Configuration keys (`server.conf`)',
    '',
    '<!-- Generated from lib/config/schema.ts by `node dist/lib/config/reference.js --write`. Do not edit by hand. -->',
    '',
    'The server reads `server.conf` at start. `npm run check-config` (the server with `--check-config`) checks a',
    'file and prints the effective settings or every problem, each as `file:line: key: message`.',
    '',
    '## Syntax',
    '',
    ...SYNTAX_RULES.map((rule) => `- ${rule}`),
  ];
  for (const section of SECTIONS) {
    out.push('', `## ${section.title}`, '', section.intro, '', '| Key | Type | Default | Accepted | Applies | Meaning |', '|---|---|---|---|---|---|');
    for (const spec of KEY_SPECS.filter((s) => s.section === section.id)) {
      const cells = [`\`${spec.key}\``, spec.type, defaultCell(spec), describeAccepted(spec), spec.reload, spec.doc + (spec.secret === true ? ' Secret: never printed.' : '')];
      out.push(`| ${cells.map(escapeCell).join(' | ')} |`);
    }
  }
  return out.join('\n') + '\n';
}

function defaultCell(spec: KeySpec): string {
  const text = formatValue(spec, spec.default);
  return text === '' ? '(empty)' : `\`${text}\``;
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** Greedy word wrap with a prefix on every line. */
function wrap(text: string, prefix: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && prefix.length + line.length + 1 + word.length > WRAP_COLUMN) {
      lines.push(prefix + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(prefix + line);
  return lines;
}

// ---------------------------------------------------------------------------
// `node dist/lib/config/reference.js --write` (from the repository root's dist/)
// ---------------------------------------------------------------------------

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] !== '--write') {
    process.stdout.write('usage: node dist/lib/config/reference.js --write\n');
    process.exitCode = 2;
  } else {
    // dist/lib/config/reference.js → the repository root.
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    writeFileSync(root + SHIPPED_CONF_PATH, renderShippedConf());
    writeFileSync(root + REFERENCE_PATH, renderReference());
    writeFileSync(root + OPERATIONS_PATH, renderOperations(readFileSync(root + OPERATIONS_PATH, 'utf8')));
    process.stdout.write(`wrote ${SHIPPED_CONF_PATH}, ${REFERENCE_PATH} and the key tables in ${OPERATIONS_PATH}\n`);
  }
}
