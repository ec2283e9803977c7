/**
 * Our JWTs against another implementation: `jose` (a devDependency only),
 * in both directions.
 */
import { expect } from 'chai';
import { SignJWT, jwtVerify } from 'jose';
import { issueToken, readClaims } from '../../lib/jwt/claims.js';
import { signHs256, verifyHs256, type VerifyOptions } from '../../lib/jwt/hs256.js';
import { KEY, OTHER_KEY } from './forge.js';

const ISSUER = 'chat.example';
const NOW = Date.UTC(2026, 10, 21, 23, 59, 0);
const NOW_S = NOW / 1000;
const OPTIONS: VerifyOptions = { now: NOW, issuer: ISSUER, leewaySeconds: 0 };

function joseToken(header: { alg: string; typ?: string; kid?: string }, key: Uint8Array = KEY): Promise<string> {
  return new SignJWT({ name: 'alice', jti: 'AAAAAAAAAAAAAAAAAAAAAA', ver: 2, auth_time: NOW_S - 60 })
    .setProtectedHeader(header)
    .setSubject('7')
    .setIssuer(ISSUER)
    .setIssuedAt(NOW_S - 60)
    .setExpirationTime(NOW_S + 900)
    .sign(key);
}

describe('interoperability with jose (RFC 7519)', () => {
  it('jose verifies a token from issueToken, reading the same header and claims', async () => {
    const issued = issueToken(KEY, {
      userId: 7,
      username: 'alice',
      tokenVersion: 2,
      authTime: NOW_S,
      now: NOW,
      ttlSeconds: 900,
      sessionMaxAgeSeconds: 86_400,
      issuer: ISSUER,
    });
    const { payload, protectedHeader } = await jwtVerify(issued.token, KEY, {
      issuer: ISSUER,
      algorithms: ['HS256'],
      typ: 'JWT',
      currentDate: new Date(NOW),
    });
    expect(protectedHeader).to.deep.equal({ alg: 'HS256', typ: 'JWT' });
    expect(payload).to.deep.equal(issued.claims);
  });

  it('jose refuses our token under another key', async () => {
    const token = signHs256({ iss: ISSUER, iat: NOW_S, exp: NOW_S + 60 }, KEY);
    let refused = false;
    try {
      await jwtVerify(token, OTHER_KEY, { currentDate: new Date(NOW) });
    } catch (error) {
      refused = (error as { code?: string }).code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED';
    }
    expect(refused).to.equal(true);
  });

  it('we verify a token signed by jose with HS256, and readClaims accepts its claims', async () => {
    const result = verifyHs256(await joseToken({ alg: 'HS256', typ: 'JWT' }), KEY, OPTIONS);
    expect(result.ok).to.equal(true);
    if (!result.ok) return;
    expect(readClaims(result.claims)).to.deep.equal({
      sub: '7',
      name: 'alice',
      iat: NOW_S - 60,
      exp: NOW_S + 900,
      jti: 'AAAAAAAAAAAAAAAAAAAAAA',
      iss: ISSUER,
      ver: 2,
      auth_time: NOW_S - 60,
    });
  });

  it('we verify a jose token without "typ" (RFC 7519 §5.1: OPTIONAL)', async () => {
    expect(verifyHs256(await joseToken({ alg: 'HS256' }), KEY, OPTIONS).ok).to.equal(true);
  });

  it('we refuse a jose token signed HS512 as alg_not_allowed (RFC 8725 §3.1)', async () => {
    const result = verifyHs256(await joseToken({ alg: 'HS512', typ: 'JWT' }, Buffer.alloc(64, 1)), Buffer.alloc(64, 1), OPTIONS);
    expect(result.ok ? 'ok' : result.reason).to.equal('alg_not_allowed');
  });

  it('we refuse a jose token with a "kid" as bad_header: there is one key, no key selection (RFC 7515 §6)', async () => {
    const result = verifyHs256(await joseToken({ alg: 'HS256', typ: 'JWT', kid: 'k1' }), KEY, OPTIONS);
    expect(result.ok ? 'ok' : result.reason).to.equal('bad_header');
  });

  it('we refuse a jose token signed with another key as bad_signature', async () => {
    const result = verifyHs256(await joseToken({ alg: 'HS256', typ: 'JWT' }, OTHER_KEY), KEY, OPTIONS);
    expect(result.ok ? 'ok' : result.reason).to.equal('bad_signature');
  });
});
