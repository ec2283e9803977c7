import { expect } from 'chai';
import { issueToken, readClaims, sessionEndsAt, sessionHasEnded, userIdOf, type IssueTokenInput } from '../../lib/jwt/claims.js';
import { verifyHs256 } from '../../lib/jwt/hs256.js';
import { KEY } from './forge.js';

const NOW = Date.UTC(2026, 10, 21, 23, 59, 0, 456);
const NOW_S = Math.floor(NOW / 1000);
const DAY = 86_400;

const INPUT: IssueTokenInput = {
  userId: 7,
  username: 'Alice',
  tokenVersion: 3,
  authTime: NOW_S,
  now: NOW,
  ttlSeconds: 900,
  sessionMaxAgeSeconds: 30 * DAY,
  issuer: 'chat.example',
};

function verifyAndRead(token: string, now = NOW) {
  const result = verifyHs256(token, KEY, { now, issuer: INPUT.issuer, leewaySeconds: 0 });
  if (!result.ok) throw new Error(`expected a valid token, got ${result.reason}`);
  return readClaims(result.claims);
}

describe('token claims (API.md "Tokens", RFC 7519 §4.1)', () => {
  describe('issueToken', () => {
    it('writes sub, name, iat, exp, jti, iss, ver and auth_time, and verifyHs256 + readClaims give them back', () => {
      const issued = issueToken(KEY, INPUT);
      expect(issued.claims).to.deep.include({
        sub: '7',
        name: 'Alice',
        iat: NOW_S,
        exp: NOW_S + 900,
        iss: 'chat.example',
        ver: 3,
        auth_time: NOW_S,
      });
      expect(Object.keys(issued.claims).sort()).to.deep.equal(['auth_time', 'exp', 'iat', 'iss', 'jti', 'name', 'sub', 'ver']);
      expect(verifyAndRead(issued.token)).to.deep.equal(issued.claims);
    });

    it('writes sub as a decimal string (RFC 7519 §4.1.2: StringOrURI)', () => {
      const { claims } = issueToken(KEY, { ...INPUT, userId: 1234567 });
      expect(claims.sub).to.equal('1234567');
      expect(userIdOf(claims)).to.equal(1234567);
    });

    it('makes jti from 16 random bytes: 22 base64url characters, different every time (RFC 7519 §4.1.7)', () => {
      const ids = new Set<string>();
      for (let i = 0; i < 50; i++) {
        const { jti } = issueToken(KEY, INPUT).claims;
        expect(jti).to.match(/^[A-Za-z0-9_-]{22}$/);
        expect(Buffer.from(jti, 'base64url').length).to.equal(16);
        ids.add(jti);
      }
      expect(ids.size).to.equal(50);
    });

    it('gives expiresAt as the Date of exp', () => {
      const issued = issueToken(KEY, INPUT);
      expect(issued.expiresAt.getTime()).to.equal(issued.claims.exp * 1000);
      expect(issued.expiresAt.toISOString()).to.equal('2026-11-22T00:14:00.000Z');
    });

    it('caps exp at auth_time + session_max_age for a refresh late in the session (API.md "POST /token")', () => {
      const authTime = NOW_S - 30 * DAY + 100; // 100 s of the session left
      const issued = issueToken(KEY, { ...INPUT, authTime });
      expect(issued.claims.exp).to.equal(authTime + 30 * DAY);
      expect(issued.claims.exp).to.equal(NOW_S + 100);
      expect(issued.claims.auth_time).to.equal(authTime);
    });

    it('keeps exp at iat + ttl while the session has longer than the ttl left', () => {
      const issued = issueToken(KEY, { ...INPUT, authTime: NOW_S - DAY });
      expect(issued.claims.exp).to.equal(NOW_S + 900);
    });

    it('refuses to issue once the session has ended, and sessionHasEnded says so first', () => {
      const authTime = NOW_S - 30 * DAY;
      expect(sessionEndsAt(authTime, 30 * DAY)).to.equal(NOW_S);
      expect(sessionHasEnded(authTime, NOW, 30 * DAY)).to.equal(true);
      expect(sessionHasEnded(authTime + 1, NOW, 30 * DAY)).to.equal(false);
      expect(() => issueToken(KEY, { ...INPUT, authTime })).to.throw(RangeError, /session has ended/);
    });

    it('refuses an authTime in milliseconds, or after now', () => {
      expect(() => issueToken(KEY, { ...INPUT, authTime: NOW })).to.throw(RangeError);
      expect(() => issueToken(KEY, { ...INPUT, authTime: NOW_S + 1 })).to.throw(RangeError);
      expect(() => issueToken(KEY, { ...INPUT, authTime: NOW_S - 0.5 })).to.throw(RangeError);
    });

    it('refuses nonsensical inputs', () => {
      expect(() => issueToken(KEY, { ...INPUT, userId: 0 })).to.throw(RangeError);
      expect(() => issueToken(KEY, { ...INPUT, userId: 1.5 })).to.throw(RangeError);
      expect(() => issueToken(KEY, { ...INPUT, tokenVersion: -1 })).to.throw(RangeError);
      expect(() => issueToken(KEY, { ...INPUT, ttlSeconds: 0 })).to.throw(RangeError);
      expect(() => issueToken(KEY, { ...INPUT, issuer: '' })).to.throw(RangeError);
      expect(() => issueToken(KEY, { ...INPUT, username: '' })).to.throw(RangeError);
      expect(() => issueToken(Buffer.alloc(16), INPUT)).to.throw(RangeError);
    });

    it('issues tokens that verify until exp and are expired from exp on (RFC 7519 §4.1.4)', () => {
      const { token, claims } = issueToken(KEY, INPUT);
      expect(verifyAndRead(token, claims.exp * 1000 - 1)).to.not.equal(null);
      const late = verifyHs256(token, KEY, { now: claims.exp * 1000, issuer: INPUT.issuer, leewaySeconds: 0 });
      expect(late.ok ? 'ok' : late.reason).to.equal('expired');
    });
  });

  describe('readClaims', () => {
    const GOOD = { sub: '7', name: 'alice', iat: 1000, exp: 1900, jti: 'AAAAAAAAAAAAAAAAAAAAAA', iss: 'chat.example', ver: 0, auth_time: 900 };

    it('accepts a well-formed claims set and returns exactly our claims, frozen', () => {
      const read = readClaims({ ...GOOD, extra: true });
      expect(read).to.deep.equal(GOOD);
      expect(Object.isFrozen(read)).to.equal(true);
    });

    const BAD: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
      ['sub as a number', { sub: 7 }],
      ['sub with a leading zero', { sub: '07' }],
      ['sub of zero', { sub: '0' }],
      ['sub negative', { sub: '-1' }],
      ['sub not decimal', { sub: 'alice' }],
      ['sub beyond a safe integer', { sub: '9007199254740993' }],
      ['sub missing', { sub: undefined }],
      ['name empty', { name: '' }],
      ['name not a string', { name: ['alice'] }],
      ['iat fractional', { iat: 1000.5 }],
      ['exp not after iat', { exp: 1000 }],
      ['exp as a string', { exp: '1900' }],
      ['jti missing', { jti: undefined }],
      ['jti with characters outside base64url', { jti: 'a b' }],
      ['jti too long', { jti: 'A'.repeat(65) }],
      ['iss not a string', { iss: 1 }],
      ['ver negative', { ver: -1 }],
      ['ver fractional', { ver: 0.5 }],
      ['ver as a string', { ver: '0' }],
      ['auth_time after iat', { auth_time: 1001 }],
      ['auth_time missing', { auth_time: undefined }],
    ];
    for (const [what, change] of BAD) {
      it(`refuses ${what}`, () => {
        const input: Record<string, unknown> = { ...GOOD, ...change };
        for (const [name, value] of Object.entries(change)) if (value === undefined) delete input[name];
        expect(readClaims(input)).to.equal(null);
      });
    }
  });
});
