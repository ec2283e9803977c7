/**
 * Reading `Authorization: Bearer <token>` (RFC 6750 §2.1) and the
 * WWW-Authenticate challenge of each 401 (RFC 6750 §3, API.md "Every 401 …").
 */
import { expect } from 'chai';
import { bearerChallenge, bearerCredentials, unauthorized, type BearerCredentials } from '../../lib/accounts/bearer.js';
import type { HeaderField, RequestHead } from '../../lib/http/request-head.js';

function head(headers: readonly HeaderField[]): RequestHead {
  return { method: 'GET', target: '/me', version: '1.1', headers, framing: { kind: 'none' }, keepAlive: true, expectContinue: false, upgrade: null };
}

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl';

const VECTORS: readonly { readonly title: string; readonly headers: readonly HeaderField[]; readonly want: BearerCredentials }[] = [
  { title: 'no Authorization header is no credentials', headers: [], want: { kind: 'none' } },
  { title: 'a bearer token is read (RFC 6750 §2.1)', headers: [['authorization', `Bearer ${JWT}`]], want: { kind: 'token', token: JWT } },
  { title: 'the scheme is case-insensitive (RFC 9110 §11.1)', headers: [['authorization', `bEARER ${JWT}`]], want: { kind: 'token', token: JWT } },
  { title: 'several spaces may follow the scheme (1*SP)', headers: [['authorization', `Bearer   ${JWT}`]], want: { kind: 'token', token: JWT } },
  { title: 'b64token allows trailing "=" and the characters -._~+/', headers: [['authorization', 'Bearer a-b.c_d~e+f/g==']], want: { kind: 'token', token: 'a-b.c_d~e+f/g==' } },
  { title: 'another scheme is "an unsupported authentication method": no credentials (RFC 6750 §3.1)', headers: [['authorization', 'Basic YTpi']], want: { kind: 'none' } },
  { title: 'a scheme that merely starts with Bearer is another scheme', headers: [['authorization', `Bearerx ${JWT}`]], want: { kind: 'none' } },
  { title: 'Bearer without a token is malformed', headers: [['authorization', 'Bearer']], want: { kind: 'malformed' } },
  { title: 'a token with a space inside is malformed', headers: [['authorization', 'Bearer a b']], want: { kind: 'malformed' } },
  { title: 'a token with a character outside b64token is malformed', headers: [['authorization', 'Bearer a,b']], want: { kind: 'malformed' } },
  { title: '"=" inside the token is malformed', headers: [['authorization', 'Bearer a=b']], want: { kind: 'malformed' } },
  {
    title: 'two Authorization fields are malformed (RFC 9110 §5.3: not a list field)',
    headers: [['authorization', `Bearer ${JWT}`], ['authorization', `Bearer ${JWT}`]],
    want: { kind: 'malformed' },
  },
];

describe('accounts/bearer', () => {
  for (const v of VECTORS) {
    it(v.title, () => {
      expect(bearerCredentials(head(v.headers))).to.deep.equal(v.want);
    });
  }

  it('challenges without an error code when no token was given, with error="invalid_token" when one was (RFC 6750 §3.1)', () => {
    expect(bearerChallenge('unauthorized')).to.equal('Bearer');
    expect(bearerChallenge('invalid_credentials')).to.equal('Bearer');
    expect(bearerChallenge('invalid_token')).to.equal('Bearer error="invalid_token"');
    expect(bearerChallenge('token_expired')).to.equal('Bearer error="invalid_token", error_description="the token has expired"');
  });

  it('makes a 401 HttpError carrying the code and the challenge', () => {
    const err = unauthorized('token_expired', 'expired');
    expect(err.status).to.equal(401);
    expect(err.code).to.equal('token_expired');
    expect(err.headers).to.deep.equal({ 'WWW-Authenticate': bearerChallenge('token_expired') });
  });
});
