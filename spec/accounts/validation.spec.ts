import { expect } from 'chai';
import {
  isInvalid,
  usernameKey,
  validateDisplayName,
  validatePassword,
  validateUsername,
  type Invalid,
} from '../../lib/accounts/validation.js';

function expectInvalid(result: string | Invalid, field: string): Invalid {
  expect(isInvalid(result), `expected a refusal, got ${JSON.stringify(result)}`).to.equal(true);
  const invalid = result as Invalid;
  expect(invalid.field).to.equal(field);
  expect(invalid.message).to.be.a('string').and.not.equal('');
  return invalid;
}

describe('account validation (API.md "HTTP endpoints")', () => {
  describe('usernames: 3–32 characters of A–Z a–z 0–9 _ . -', () => {
    const ACCEPTED = ['abc', 'Alice', 'bob_smith', 'a.b-c_d', '007', '---', 'A'.repeat(32), 'Zz9.'];
    for (const name of ACCEPTED) {
      it(`accepts ${JSON.stringify(name)} and keeps it as typed`, () => {
        expect(validateUsername(name)).to.equal(name);
      });
    }

    const REFUSED: ReadonlyArray<readonly [string, unknown]> = [
      ['two characters', 'ab'],
      ['33 characters', 'a'.repeat(33)],
      ['an empty string', ''],
      ['a space', 'alice smith'],
      ['a leading space (no trimming)', ' alice'],
      ['"@"', 'alice@example'],
      ['a colon (DM room names use it)', 'a:b'],
      ['a slash', 'a/b'],
      ['a non-ASCII letter', 'zoë'],
      ['a fullwidth letter', 'ａｌｉｃｅ'],
      ['the Kelvin sign, which lower-cases to "k"', 'K\u212Aelvin'],
      ['an emoji', 'ali😀'],
      ['a NUL', 'ali\u0000ce'],
      ['a number instead of a string', 12345],
      ['null', null],
      ['undefined', undefined],
      ['an array', ['alice']],
    ];
    for (const [what, raw] of REFUSED) {
      it(`refuses ${what}, naming the field "username"`, () => {
        const invalid = expectInvalid(validateUsername(raw), 'username');
        expect(invalid.message).to.equal('username must be 3–32 characters of A–Z a–z 0–9 _ . -');
      });
    }

    it('matches usernames without regard to case through usernameKey', () => {
      expect(usernameKey('Alice.B-2')).to.equal('alice.b-2');
      expect(usernameKey('ALICE')).to.equal(usernameKey('alice'));
    });
  });

  describe('passwords: 8–256 characters, not the username, not a common password', () => {
    it('accepts a good password and returns it unchanged (no trimming)', () => {
      expect(validatePassword('  correct horse battery staple  ', 'alice')).to.equal('  correct horse battery staple  ');
    });

    it('counts length in code points: 8 emoji (16 UTF-16 units) are 8 characters (API.md "Transport")', () => {
      const eight = '🐴🔋📎🐎🎠🧲🔌🪫';
      expect(eight.length).to.equal(16);
      expect(validatePassword(eight, 'alice')).to.equal(eight);
      expect(isInvalid(validatePassword(eight.slice(0, 14), 'alice'))).to.equal(true); // 7 code points
    });

    it('accepts exactly 8 and exactly 256 characters', () => {
      expect(validatePassword('xq7!Lm2#', 'alice')).to.equal('xq7!Lm2#');
      const long = 'é'.repeat(256);
      expect(validatePassword(long, 'alice')).to.equal(long);
    });

    const REFUSED: ReadonlyArray<readonly [string, unknown]> = [
      ['7 characters', 'xq7!Lm2'],
      ['257 characters', 'x'.repeat(257)],
      ['257 two-unit characters', '😀'.repeat(257)],
      ['an empty string', ''],
      ['a number', 12345678],
      ['null', null],
      ['a lone surrogate, which has no UTF-8 form', 'abcdefg\ud800'],
    ];
    for (const [what, password] of REFUSED) {
      it(`refuses ${what}`, () => {
        expectInvalid(validatePassword(password, 'alice'), 'password');
      });
    }

    it('refuses the username itself, in any case', () => {
      for (const password of ['alice.smith', 'ALICE.SMITH', 'Alice.Smith']) {
        const invalid = expectInvalid(validatePassword(password, 'alice.Smith'), 'password');
        expect(invalid.message).to.include('username');
      }
    });

    it('refuses passwords from the common-password list, in any case', () => {
      for (const password of ['password', 'PASSWORD', 'Password1', 'qwertyuiop', 'iloveyou', '12345678', 'trustno1']) {
        const invalid = expectInvalid(validatePassword(password, 'alice'), 'password');
        expect(invalid.message).to.include('common');
      }
    });

    it('names another field when asked (PUT /me "new_password")', () => {
      expectInvalid(validatePassword('short', 'alice', 'new_password'), 'new_password');
    });

    it('never repeats the password in the message (STYLE.md habit 15)', () => {
      const secret = 'Sup3r-secret-value';
      for (const result of [validatePassword(secret, secret), validatePassword(secret.slice(0, 7), 'bob')]) {
        expect(isInvalid(result)).to.equal(true);
        expect((result as Invalid).message).not.to.include(secret.slice(0, 7));
      }
    });
  });

  describe('display names: trimmed of White_Space, then 1–64 characters, no Cc', () => {
    it('trims Unicode White_Space at both ends, including NBSP, ideographic space and line separator', () => {
      expect(validateDisplayName('  Alice  ')).to.equal('Alice');
      expect(validateDisplayName('\u00a0\u3000Alice B\u2028\t')).to.equal('Alice B');
    });

    it('keeps inner spaces and non-ASCII letters', () => {
      expect(validateDisplayName('Zoë  Ünal 王')).to.equal('Zoë  Ünal 王');
    });

    it('does not treat a zero-width space (not White_Space) as trimmable', () => {
      expect(validateDisplayName('\u200bAlice')).to.equal('\u200bAlice');
    });

    it('counts 64 code points after trimming, not UTF-16 units', () => {
      const sixtyFour = '😀'.repeat(64);
      expect(validateDisplayName(`  ${sixtyFour}  `)).to.equal(sixtyFour);
      expectInvalid(validateDisplayName('😀'.repeat(65)), 'display_name');
    });

    const REFUSED: ReadonlyArray<readonly [string, unknown]> = [
      ['empty', ''],
      ['only white space', ' \t\u00a0\u3000 '],
      ['65 characters', 'a'.repeat(65)],
      ['a line feed inside (Cc)', 'Alice\nB'],
      ['a NUL (Cc)', 'Al\u0000ice'],
      ['DEL (Cc)', 'Alice\u007f'],
      ['a C1 control (Cc)', 'Alice\u009bB'],
      ['NEL inside: White_Space, but also Cc', 'Alice\u0085B'],
      ['an escape sequence (Cc)', '\u001b[31mred'],
      ['a lone surrogate', 'Alice\udc00'],
      ['a number', 42],
      ['null', null],
    ];
    for (const [what, raw] of REFUSED) {
      it(`refuses ${what}, naming the field "display_name"`, () => {
        expectInvalid(validateDisplayName(raw), 'display_name');
      });
    }
  });
});
