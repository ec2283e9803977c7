import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  COMMON_PASSWORDS_CANDIDATES,
  isCommonPassword,
  loadCommonPasswords,
  parseCommonPasswords,
} from '../../lib/accounts/common-passwords.js';

describe('the common-password list (API.md: "not one of the most common passwords")', () => {
  it('is found at run time from the compiled module, via the source tree', () => {
    // The tests run from dist/, where tsc copies no .txt: the second candidate
    // (../../../lib/accounts/ from dist/lib/accounts/) is the one that exists.
    const paths = COMMON_PASSWORDS_CANDIDATES.map((url) => fileURLToPath(url));
    expect(paths.some((path) => existsSync(path)), paths.join(', ')).to.equal(true);
    expect(paths[1]).to.match(/[\\/]lib[\\/]accounts[\\/]common-passwords\.txt$/);
  });

  it('holds several thousand entries, all lower-case, none shorter than 8 characters', () => {
    const list = loadCommonPasswords();
    expect(list.size).to.be.at.least(5000);
    for (const entry of list) {
      expect(entry).to.equal(entry.toLowerCase());
      expect([...entry].length, entry).to.be.at.least(8);
    }
  });

  it('is loaded once: later calls return the same set', () => {
    expect(loadCommonPasswords()).to.equal(loadCommonPasswords());
  });

  it('carries its source and license in a comment header, which is not read as passwords', () => {
    const path = COMMON_PASSWORDS_CANDIDATES.map((url) => fileURLToPath(url)).find((p) => existsSync(p))!;
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith('#')).to.equal(true);
    expect(text).to.match(/Creative Commons Attribution ShareAlike 3\.0/);
    for (const entry of loadCommonPasswords()) expect(entry.startsWith('#')).to.equal(false);
  });

  it('knows the classics, in any case', () => {
    for (const password of ['password', 'PASSWORD', 'Password1', '12345678', 'qwertyuiop', 'iloveyou', 'sunshine', 'football']) {
      expect(isCommonPassword(password), password).to.equal(true);
    }
  });

  it('does not flag an unremarkable long password', () => {
    expect(isCommonPassword('violet-kettle-orbit-9')).to.equal(false);
    expect(isCommonPassword('Zq8#mV2!pL')).to.equal(false);
  });

  it('parses one entry a line, skipping "#" comments and blank lines, tolerating CRLF', () => {
    const set = parseCommonPasswords('# header\r\nHunter22\r\n\r\nletmein1\n# trailing comment\n');
    expect([...set]).to.deep.equal(['hunter22', 'letmein1']);
  });
});
