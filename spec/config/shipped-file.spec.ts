import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultConfig, formatProblem, parseConfig } from '../../lib/config/parse.js';
import { OPERATIONS_BEGIN, OPERATIONS_END, OPERATIONS_PATH, REFERENCE_PATH, SHIPPED_CONF_PATH, renderOperations, renderReference, renderShippedConf } from '../../lib/config/reference.js';
import { KEY_SPECS } from '../../lib/config/schema.js';
import { describeAccepted } from '../../lib/config/value-syntax.js';

/** dist/spec/config/ → the repository root. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const REGENERATE = 'regenerate with: npx tsc -p tsconfig.json && node dist/lib/config/reference.js --write';

const shipped = readFileSync(ROOT + SHIPPED_CONF_PATH, 'utf8');
const reference = readFileSync(ROOT + REFERENCE_PATH, 'utf8');
const schemaKeys = KEY_SPECS.map((spec) => spec.key as string);

/** A line that sets a key, or would once its leading "#" is removed. */
const SETTING_LINE = /^#?\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=/;
/** A row of the reference tables: | `key` | … */
const REFERENCE_ROW = /^\| `([^`]+)` \|/;

function mentionedKeys(text: string): string[] {
  return text.split('\n').flatMap((line) => SETTING_LINE.exec(line)?.[1] ?? []);
}

describe('config: the shipped server.conf', () => {
  it('parses with no problems', () => {
    expect(parseConfig(shipped, 'server.conf').problems.map(formatProblem)).to.deep.equal([]);
  });

  it('mentions every schema key (set, or commented as "# key ="), each once', () => {
    const mentioned = mentionedKeys(shipped);
    expect([...mentioned].sort()).to.deep.equal([...schemaKeys].sort());
  });

  it('mentions no key that is not in the schema', () => {
    expect(mentionedKeys(shipped).filter((key) => !schemaKeys.includes(key))).to.deep.equal([]);
  });

  it('shows each key at its default: uncommenting every "# key =" line changes nothing', () => {
    const uncommented = shipped.replace(/^# (?=[a-z_]+ =)/gm, '');
    const { config, problems } = parseConfig(uncommented, 'server.conf');
    expect(problems.map(formatProblem)).to.deep.equal([]);
    expect(Object.keys(parseConfig(uncommented, 'server.conf').lines).sort()).to.deep.equal([...schemaKeys].sort());
    expect(config).to.deep.equal(defaultConfig());
  });

  it('states each key\'s accepted values (range and unit) in a comment next to or above it', () => {
    for (const spec of KEY_SPECS) {
      const at = shipped.split('\n').findIndex((line) => SETTING_LINE.exec(line)?.[1] === spec.key);
      const near = shipped.split('\n').slice(Math.max(0, at - 3), at + 1).join(' ').replaceAll('\n# ', ' ').replaceAll(' # ', ' ');
      expect(near.replace(/\s+/g, ' '), spec.key).to.include(describeAccepted(spec).replace(/\s+/g, ' '));
    }
  });

  it(`is what reference.ts makes from the schema (${REGENERATE})`, () => {
    expect(shipped === renderShippedConf(), `${SHIPPED_CONF_PATH} is stale; ${REGENERATE}`).to.equal(true);
  });
});

describe(`config: the reference ${REFERENCE_PATH}`, () => {
  it('documents every schema key in a table row, and no other key', () => {
    const documented = reference.split('\n').flatMap((line) => REFERENCE_ROW.exec(line)?.[1] ?? []);
    expect([...documented].sort()).to.deep.equal([...schemaKeys].sort());
  });

  it(`is what reference.ts makes from the schema (${REGENERATE})`, () => {
    expect(reference === renderReference(), `${REFERENCE_PATH} is stale; ${REGENERATE}`).to.equal(true);
  });
});

describe(`config: the operator's guide ${OPERATIONS_PATH}`, () => {
  const operations = readFileSync(ROOT + OPERATIONS_PATH, 'utf8');

  it('documents every schema key in a table row of its generated block, and no other key', () => {
    const block = operations.slice(operations.indexOf(OPERATIONS_BEGIN), operations.indexOf(OPERATIONS_END));
    const documented = block.split('\n').flatMap((line) => REFERENCE_ROW.exec(line)?.[1] ?? []);
    expect([...documented].sort()).to.deep.equal([...schemaKeys].sort());
  });

  it(`carries the reference tables as reference.ts makes them (${REGENERATE})`, () => {
    expect(operations === renderOperations(operations), `${OPERATIONS_PATH} is stale; ${REGENERATE}`).to.equal(true);
  });
});
