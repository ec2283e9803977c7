import { expect } from 'chai';
import fc from 'fast-check';
import { generateKeyPairSync } from 'node:crypto';
import {
  JWT_FAILURE_ERROR_CODE,
  JWT_FAILURES,
  signHs256,
  verifyHs256,
  type JwtFailure,
  type VerifyOptions,
} from '../../lib/jwt/hs256.js';
import { forge, hmacSignature, b64u, KEY, OTHER_KEY, STANDARD_HEADER } from './forge.js';

const ISSUER = 'chat.example';
/** 2026-11-21T23:59:00.000Z, in milliseconds. */
const NOW = Date.UTC(2026, 10, 21, 23, 59, 0);
const NOW_S = NOW / 1000;
const LEEWAY = 30;
const OPTIONS: VerifyOptions = { now: NOW, issuer: ISSUER, leewaySeconds: LEEWAY };

/** A claims set that passes every rule at NOW. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { sub: '7', name: 'alice', iat: NOW_S - 60, exp: NOW_S + 900, jti: 'abc', iss: ISSUER, ver: 0, auth_time: NOW_S - 60, ...overrides };
}

function reasonOf(token: string, options: VerifyOptions = OPTIONS, key: Uint8Array = KEY): JwtFailure | 'ok' {
  const result = verifyHs256(token, key, options);
  return result.ok ? 'ok' : result.reason;
}

/** A correctly MACed token whose payload is the given raw text or bytes. */
function signedPayload(payload: string | Uint8Array, header = STANDARD_HEADER): string {
  return forge(header, payload, KEY);
}

describe('JWT with HS256 (RFC 7519 §7, RFC 8725)', () => {
  describe('signing (RFC 7519 §7.1)', () => {
    it('signs and verifies a claims set, returning the same claims', () => {
      const input = claims();
      const result = verifyHs256(signHs256(input, KEY), KEY, OPTIONS);
      expect(result.ok).to.equal(true);
      if (result.ok) expect(result.claims).to.deep.equal(input);
    });

    it('returns the claims frozen', () => {
      const result = verifyHs256(signHs256(claims(), KEY), KEY, OPTIONS);
      expect(result.ok && Object.isFrozen(result.claims)).to.equal(true);
    });

    it('writes the payload as the JSON of the claims, under the header {"alg":"HS256","typ":"JWT"}', () => {
      const input = claims();
      expect(signHs256(input, KEY)).to.equal(forge(STANDARD_HEADER, JSON.stringify(input), KEY));
    });

    it('throws for claims that do not serialize to a JSON object (RFC 7519 §7.1 step 1)', () => {
      expect(() => signHs256([1, 2], KEY)).to.throw(TypeError);
      expect(() => signHs256({ toJSON: () => 'text' }, KEY)).to.throw(TypeError);
    });

    it('throws for a key shorter than 32 bytes (RFC 7518 §3.2)', () => {
      expect(() => signHs256(claims(), Buffer.alloc(31))).to.throw(RangeError);
      expect(() => verifyHs256('a.b.c', Buffer.alloc(31), OPTIONS)).to.throw(RangeError);
    });

    it('throws for nonsensical options rather than guessing', () => {
      const token = signHs256(claims(), KEY);
      expect(() => verifyHs256(token, KEY, { ...OPTIONS, now: Number.NaN })).to.throw(RangeError);
      expect(() => verifyHs256(token, KEY, { ...OPTIONS, leewaySeconds: -1 })).to.throw(RangeError);
      expect(() => verifyHs256(token, KEY, { ...OPTIONS, issuer: '' })).to.throw(RangeError);
    });
  });

  describe('the RFC 7515 Appendix A.1 token, read as a JWT', () => {
    const rfcKey = Buffer.from(
      'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow',
      'base64url',
    );
    const rfcHeader = 'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9';
    const rfcToken = `${rfcHeader}.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk`;
    const rfcOptions: VerifyOptions = { now: 1300819370000, issuer: 'joe', leewaySeconds: 0 };

    it('passes the signature and header checks but is refused as bad_claims: it has no "iat", which our profile requires', () => {
      // The JWS layer accepts it (spec/jwt/jws.spec.ts); only the claims rule
      // of this server refuses it.
      expect(reasonOf(rfcToken, rfcOptions, rfcKey)).to.equal('bad_claims');
    });

    it('is accepted, header {"typ":"JWT",\\r\\n "alg":"HS256"} and all, once its claims carry "iat"', () => {
      const payload = '{"iss":"joe",\r\n "exp":1300819380,\r\n "iat":1300819000,\r\n "http://example.com/is_root":true}';
      const signingInput = `${rfcHeader}.${b64u(payload)}`;
      const token = `${signingInput}.${hmacSignature(signingInput, rfcKey)}`;
      const result = verifyHs256(token, rfcKey, rfcOptions);
      expect(result.ok).to.equal(true);
      if (result.ok) expect(result.claims['http://example.com/is_root']).to.equal(true);
      // Ten seconds later than the RFC's exp, it has expired (RFC 7519 §4.1.4).
      expect(reasonOf(token, { ...rfcOptions, now: 1300819380000 }, rfcKey)).to.equal('expired');
    });
  });

  describe('the payload (RFC 7519 §7.2 steps 9–10)', () => {
    const NOT_AN_OBJECT: ReadonlyArray<readonly [string, string | Uint8Array]> = [
      ['a JSON array', '[1,2]'],
      ['JSON null', 'null'],
      ['a JSON string', '"claims"'],
      ['not JSON', 'exp=1'],
      ['empty', ''],
      ['invalid UTF-8 (RFC 8725 §3.7)', Uint8Array.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d])],
    ];
    for (const [what, payload] of NOT_AN_OBJECT) {
      it(`refuses a correctly signed payload that is ${what} as bad_claims`, () => {
        expect(reasonOf(signedPayload(payload))).to.equal('bad_claims');
      });
    }

    it('checks the MAC before parsing the payload: a forged non-JSON payload is bad_signature, not bad_claims', () => {
      expect(reasonOf(forge(STANDARD_HEADER, 'not json', OTHER_KEY))).to.equal('bad_signature');
    });
  });

  describe('registered claims (RFC 7519 §4.1)', () => {
    const BAD_SHAPES: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
      ['"exp" missing (RFC 7519 §4.1.4; required here)', claims({ exp: undefined })],
      ['"exp" as a string (RFC 7519 §2 NumericDate)', claims({ exp: String(NOW_S + 900) })],
      ['"exp" as null', claims({ exp: null })],
      ['"iat" missing (RFC 7519 §4.1.6; required here)', claims({ iat: undefined })],
      ['"iat" as a string', claims({ iat: 'yesterday' })],
      ['"nbf" as a string (RFC 7519 §4.1.5)', claims({ nbf: 'soon' })],
      ['"nbf" as null', claims({ nbf: null })],
      ['an "aud" claim (RFC 7519 §4.1.3: we are no audience)', claims({ aud: ISSUER })],
      ['an "aud" claim that is an array', claims({ aud: [ISSUER] })],
    ];
    for (const [what, input] of BAD_SHAPES) {
      it(`refuses ${what} as bad_claims`, () => {
        expect(reasonOf(signHs256(input, KEY))).to.equal('bad_claims');
      });
    }

    it('accepts NumericDates with fractions of a second (RFC 7519 §2: "non-integer values can be represented")', () => {
      expect(reasonOf(signHs256(claims({ iat: NOW_S - 0.5, exp: NOW_S + 0.5 }), KEY), { ...OPTIONS, leewaySeconds: 0 })).to.equal('ok');
    });

    describe('"exp" with the leeway (RFC 7519 §4.1.4)', () => {
      it('refuses a token whose exp is exactly now minus the leeway as expired', () => {
        expect(reasonOf(signHs256(claims({ exp: NOW_S - LEEWAY }), KEY))).to.equal('expired');
      });

      it('accepts a token whose exp is one second inside the leeway', () => {
        expect(reasonOf(signHs256(claims({ exp: NOW_S - LEEWAY + 1 }), KEY))).to.equal('ok');
      });

      it('with no leeway, refuses at the exp second and accepts one millisecond before it', () => {
        const token = signHs256(claims({ exp: NOW_S }), KEY);
        expect(reasonOf(token, { ...OPTIONS, leewaySeconds: 0 })).to.equal('expired');
        expect(reasonOf(token, { ...OPTIONS, leewaySeconds: 0, now: NOW - 1 })).to.equal('ok');
      });
    });

    describe('"nbf" with the leeway (RFC 7519 §4.1.5)', () => {
      it('accepts a token whose nbf is exactly now plus the leeway', () => {
        expect(reasonOf(signHs256(claims({ nbf: NOW_S + LEEWAY }), KEY))).to.equal('ok');
      });

      it('refuses a token whose nbf is one second beyond the leeway as not_yet_valid', () => {
        expect(reasonOf(signHs256(claims({ nbf: NOW_S + LEEWAY + 1 }), KEY))).to.equal('not_yet_valid');
      });
    });

    describe('"iat" with the leeway (RFC 7519 §4.1.6)', () => {
      it('accepts a token issued exactly the leeway ahead of our clock', () => {
        expect(reasonOf(signHs256(claims({ iat: NOW_S + LEEWAY, auth_time: NOW_S }), KEY))).to.equal('ok');
      });

      it('refuses a token issued further in the future as issued_in_future', () => {
        expect(reasonOf(signHs256(claims({ iat: NOW_S + LEEWAY + 1 }), KEY))).to.equal('issued_in_future');
      });
    });

    describe('"iss" (RFC 7519 §4.1.1, RFC 8725 §3.8)', () => {
      for (const iss of ['other.example', 'CHAT.EXAMPLE', `${ISSUER} `, '', undefined, 1, null]) {
        it(`refuses iss ${JSON.stringify(iss) ?? 'missing'} as bad_issuer`, () => {
          expect(reasonOf(signHs256(claims({ iss }), KEY))).to.equal('bad_issuer');
        });
      }

      it('reports a wrong issuer before expiry, so only our own tokens are ever "expired"', () => {
        expect(reasonOf(signHs256(claims({ iss: 'other.example', exp: NOW_S - 3600 }), KEY))).to.equal('bad_issuer');
      });
    });
  });

  describe('the attacks of RFC 8725 §2', () => {
    it('§2.1 "alg":"none": an unsecured token with an empty signature is alg_not_allowed', () => {
      const token = forge('{"alg":"none","typ":"JWT"}', JSON.stringify(claims()), KEY, '');
      expect(reasonOf(token)).to.equal('alg_not_allowed');
    });

    it('§2.1 "alg":"none" with a valid HMAC anyway is still alg_not_allowed', () => {
      expect(reasonOf(forge('{"alg":"none"}', JSON.stringify(claims()), KEY))).to.equal('alg_not_allowed');
    });

    it('§2.1 algorithm substitution: an RS256 header over a MAC made with our key is alg_not_allowed', () => {
      expect(reasonOf(forge('{"alg":"RS256","typ":"JWT"}', JSON.stringify(claims()), KEY))).to.equal('alg_not_allowed');
    });

    it('§2.1 algorithm substitution: HS256 "signed" with an RSA public key as the HMAC secret is bad_signature', () => {
      const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(reasonOf(forge(STANDARD_HEADER, JSON.stringify(claims()), pem))).to.equal('bad_signature');
    });

    it('§2.2 weak symmetric keys: our own API refuses keys under 32 bytes, and a token MACed with a guessable key is bad_signature', () => {
      expect(() => signHs256(claims(), Buffer.from('secret'))).to.throw(RangeError);
      expect(reasonOf(forge(STANDARD_HEADER, JSON.stringify(claims()), 'secret'))).to.equal('bad_signature');
    });

    it('§2.6 multiplicity of JSON encodings: a UTF-16 payload is bad_claims (RFC 8725 §3.7 "Use UTF-8")', () => {
      expect(reasonOf(signedPayload(Buffer.from(JSON.stringify(claims()), 'utf16le')))).to.equal('bad_claims');
    });

    it('§2.7 substitution attacks: a token our key signed for another issuer is bad_issuer', () => {
      expect(reasonOf(signHs256(claims({ iss: 'billing.example' }), KEY))).to.equal('bad_issuer');
    });

    it('§2.7 substitution attacks: a token addressed to an audience is bad_claims (RFC 8725 §3.9)', () => {
      expect(reasonOf(signHs256(claims({ aud: 'billing' }), KEY))).to.equal('bad_claims');
    });

    it('§2.8 cross-JWT confusion: a token explicitly typed for another use is bad_header (RFC 8725 §3.11)', () => {
      const header = '{"alg":"HS256","typ":"secevent+jwt"}';
      expect(reasonOf(forge(header, JSON.stringify(claims()), KEY))).to.equal('bad_header');
    });

    it('§2.8 cross-JWT confusion: an untyped token of another kind, without our required claims, is bad_claims (RFC 8725 §3.12)', () => {
      const event = { iss: ISSUER, iat: NOW_S, jti: 'e1', events: { 'urn:example:event': {} } };
      expect(reasonOf(forge('{"alg":"HS256"}', JSON.stringify(event), KEY))).to.equal('bad_claims');
    });

    it('§2.9 indirect attacks: a "kid" carrying SQL is refused as bad_header before any key look-up', () => {
      const header = JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: "x' UNION SELECT 'key" });
      expect(reasonOf(forge(header, JSON.stringify(claims()), KEY))).to.equal('bad_header');
    });

    it('§2.9 indirect attacks: a "jku" or "x5u" URL is refused as bad_header and never fetched', () => {
      for (const name of ['jku', 'x5u']) {
        const header = JSON.stringify({ alg: 'HS256', [name]: 'https://127.0.0.1/keys' });
        expect(reasonOf(forge(header, JSON.stringify(claims()), KEY))).to.equal('bad_header');
      }
    });

    it('§2.9 indirect attacks: a "jwk" carrying the attacker\'s own key is bad_header', () => {
      const attackerKey = Buffer.alloc(32, 9);
      const header = JSON.stringify({ alg: 'HS256', jwk: { kty: 'oct', k: attackerKey.toString('base64url') } });
      expect(reasonOf(forge(header, JSON.stringify(claims()), attackerKey))).to.equal('bad_header');
    });
  });

  describe('failure reasons', () => {
    it('maps "expired" to token_expired and every other reason to invalid_token (API.md "Tokens")', () => {
      for (const reason of JWT_FAILURES) {
        expect(JWT_FAILURE_ERROR_CODE[reason], reason).to.equal(reason === 'expired' ? 'token_expired' : 'invalid_token');
      }
      expect(Object.keys(JWT_FAILURE_ERROR_CODE).sort()).to.deep.equal([...JWT_FAILURES].sort());
    });

    it('reports too_long before anything else', () => {
      expect(reasonOf('x'.repeat(5000))).to.equal('too_long');
      expect(reasonOf(signHs256(claims(), KEY), { ...OPTIONS, maxTokenBytes: 20 })).to.equal('too_long');
    });
  });

  it('answers any correctly signed JSON payload with a result, never an exception', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, wrap) => {
        const payload = JSON.stringify(wrap ? { exp: value, iat: value, nbf: value, iss: value } : value) ?? 'null';
        const result = verifyHs256(signedPayload(payload), KEY, OPTIONS);
        expect(result.ok).to.be.a('boolean');
      }),
      { seed: 7519, numRuns: 500 },
    );
  });
});
