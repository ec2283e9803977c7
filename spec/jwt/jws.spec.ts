import { expect } from 'chai';
import fc from 'fast-check';
import {
  DEFAULT_MAX_TOKEN_BYTES,
  JWT_HEADER_JSON,
  MIN_HS256_KEY_BYTES,
  REFUSED_HEADER_PARAMETERS,
  signJws,
  verifyJws,
  type JwsFailure,
} from '../../lib/jwt/jws.js';
import { b64u, forge, hmacSignature, KEY, OTHER_KEY, STANDARD_HEADER } from './forge.js';

/** RFC 7515 Appendix A.1: the symmetric key, as the JWK "k" member. */
const RFC7515_A1_KEY = Buffer.from(
  'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow',
  'base64url',
);
/** RFC 7515 Appendix A.1: the complete JWS, in Compact Serialization. */
const RFC7515_A1_TOKEN =
  'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9' +
  '.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ' +
  '.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC7515_A1_PAYLOAD = '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}';

const PAYLOAD = '{"sub":"1"}';

function reasonOf(token: string, key: Uint8Array = KEY): JwsFailure | 'ok' {
  const result = verifyJws(token, key);
  return result.ok ? 'ok' : result.reason;
}

/** Replace the character at `index` with `replacement`. */
function withCharAt(text: string, index: number, replacement: string): string {
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

describe('JWS Compact Serialization with HS256 (RFC 7515, RFC 7518 §3.2)', () => {
  describe('the example of RFC 7515 Appendix A.1', () => {
    it('validates the RFC\'s token with the RFC\'s key, whose header is {"typ":"JWT",\\r\\n "alg":"HS256"} (RFC 7515 §5.2)', () => {
      const result = verifyJws(RFC7515_A1_TOKEN, RFC7515_A1_KEY);
      expect(result.ok).to.equal(true);
      if (!result.ok) return;
      expect(result.header).to.deep.equal({ typ: 'JWT', alg: 'HS256' });
      expect(result.payload.toString('utf8')).to.equal(RFC7515_A1_PAYLOAD);
    });

    it('computes the RFC\'s signature "dBjftJeZ…" over the RFC\'s signing input (RFC 7515 §5.1 step 5)', () => {
      const [header, payload] = RFC7515_A1_TOKEN.split('.');
      expect(hmacSignature(`${header}.${payload}`, RFC7515_A1_KEY)).to.equal('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk');
      // …and our verifier agrees only with that exact signature.
      expect(reasonOf(withCharAt(RFC7515_A1_TOKEN, RFC7515_A1_TOKEN.length - 2, 'Y'), RFC7515_A1_KEY)).to.equal('bad_signature');
    });

    it('refuses the RFC\'s token under any other key (RFC 7515 §5.2 step 8)', () => {
      expect(reasonOf(RFC7515_A1_TOKEN, KEY)).to.equal('bad_signature');
    });
  });

  describe('signing (RFC 7515 §5.1)', () => {
    it('writes the header exactly {"alg":"HS256","typ":"JWT"} (API.md "Tokens")', () => {
      const token = signJws(Buffer.from(PAYLOAD), KEY);
      expect(JWT_HEADER_JSON).to.equal('{"alg":"HS256","typ":"JWT"}');
      expect(token.split('.')[0]).to.equal('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9');
      expect(Buffer.from(token.split('.')[0]!, 'base64url').toString()).to.equal(JWT_HEADER_JSON);
    });

    it('MACs ASCII(header "." payload) with HMAC-SHA-256, as node:crypto computes it (RFC 7515 §5.1, RFC 7518 §3.2)', () => {
      const token = signJws(Buffer.from(PAYLOAD), KEY);
      const [header, payload, signature] = token.split('.');
      expect(payload).to.equal(b64u(PAYLOAD));
      expect(signature).to.equal(hmacSignature(`${header}.${payload}`, KEY));
      expect(token).to.equal(forge(STANDARD_HEADER, PAYLOAD, KEY));
    });

    it('signs an empty payload as an empty middle segment (RFC 7515 §2)', () => {
      const token = signJws(new Uint8Array(0), KEY);
      expect(token.split('.')[1]).to.equal('');
      const result = verifyJws(token, KEY);
      expect(result.ok && result.payload.length).to.equal(0);
    });

    it('round-trips any payload bytes through verifyJws', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          const result = verifyJws(signJws(bytes, KEY), KEY);
          expect(result.ok).to.equal(true);
          if (result.ok) expect(result.payload).to.deep.equal(Buffer.from(bytes));
        }),
        { seed: 7515, numRuns: 200 },
      );
    });
  });

  describe('keys (RFC 7518 §3.2, RFC 8725 §3.5)', () => {
    it(`throws when signing with a key shorter than ${MIN_HS256_KEY_BYTES} bytes, without echoing the key`, () => {
      const shortKey = Buffer.from('a-31-byte-key-that-is-too-short');
      expect(shortKey.length).to.equal(31);
      expect(() => signJws(Buffer.from(PAYLOAD), shortKey)).to.throw(RangeError, /at least 32 bytes/);
      try {
        signJws(Buffer.from(PAYLOAD), shortKey);
      } catch (error) {
        expect((error as Error).message).not.to.include(shortKey.toString());
      }
    });

    it('throws when verifying with a key shorter than 32 bytes', () => {
      expect(() => verifyJws(signJws(Buffer.from(PAYLOAD), KEY), Buffer.alloc(16))).to.throw(RangeError);
      expect(() => verifyJws('a.b.c', new Uint8Array(0))).to.throw(RangeError);
    });

    it('accepts a key of exactly 32 bytes and longer ones', () => {
      const longKey = Buffer.alloc(100, 1);
      expect(verifyJws(signJws(Buffer.from(PAYLOAD), longKey), longKey).ok).to.equal(true);
      expect(verifyJws(signJws(Buffer.from(PAYLOAD), KEY), KEY).ok).to.equal(true);
    });

    it('refuses a token MACed with another key as bad_signature (RFC 7515 §5.2 step 8)', () => {
      expect(reasonOf(signJws(Buffer.from(PAYLOAD), OTHER_KEY))).to.equal('bad_signature');
    });
  });

  describe('structure (RFC 7515 §7.1, §5.2 steps 1–2)', () => {
    const good = forge(STANDARD_HEADER, PAYLOAD, KEY);
    const [h, p, s] = good.split('.') as [string, string, string];
    const CASES: ReadonlyArray<readonly [string, string, JwsFailure]> = [
      ['an empty string', '', 'malformed'],
      ['one segment', h, 'malformed'],
      ['two segments (header.payload, no signature part)', `${h}.${p}`, 'malformed'],
      ['four segments', `${good}.${s}`, 'malformed'],
      ['five segments, the shape of a JWE (RFC 7516 §9)', `${h}.${p}.${s}.${s}.${s}`, 'malformed'],
      ['a trailing period', `${good}.`, 'malformed'],
      ['padding on the signature (RFC 7515 §2)', `${good}=`, 'malformed'],
      ['padding on the header (RFC 7515 §2)', `${b64u('{"alg":"HS256"}')}==.${p}.${s}`, 'malformed'],
      ['a space inside (RFC 7515 §5.2 step 2)', `${h}.${p} .${s}`, 'malformed'],
      ['a line break inside', `${h}.\n${p}.${s}`, 'malformed'],
      ['standard base64 "+" in a segment (RFC 4648 §5)', `${h}.${p}.${s.slice(0, -1)}+`, 'malformed'],
      ['a "Bearer " prefix left on', `Bearer ${good}`, 'malformed'],
    ];
    for (const [what, token, reason] of CASES) {
      it(`refuses ${what} as ${reason}`, () => {
        expect(reasonOf(token)).to.equal(reason);
      });
    }

    it('refuses every truncation of a valid token (RFC 7515 §5.2)', () => {
      for (let length = 0; length < good.length; length++) {
        expect(reasonOf(good.slice(0, length)), `first ${length} characters`).not.to.equal('ok');
      }
    });

    it('refuses a signature truncated to 30 bytes as bad_signature (RFC 7518 §3.2: no truncated MACs)', () => {
      expect(reasonOf(`${h}.${p}.${s.slice(0, 40)}`)).to.equal('bad_signature');
    });

    it('refuses a non-canonical spelling of the same signature, so a token has exactly one form (RFC 4648 §3.5)', () => {
      // 43 characters carry 258 bits for 256: the last character's low 2 bits are unused.
      const last = s[s.length - 1]!;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
      const twin = `${h}.${p}.${s.slice(0, -1)}${sibling}`;
      expect(Buffer.from(twin.split('.')[2]!, 'base64url')).to.deep.equal(Buffer.from(s, 'base64url'));
      expect(reasonOf(twin)).to.equal('malformed');
    });
  });

  describe('length bound (checked before any other work)', () => {
    it(`refuses a token longer than ${DEFAULT_MAX_TOKEN_BYTES} characters as too_long, whatever it holds`, () => {
      expect(reasonOf('.'.repeat(DEFAULT_MAX_TOKEN_BYTES + 1))).to.equal('too_long');
      const big = forge(STANDARD_HEADER, JSON.stringify({ pad: 'x'.repeat(DEFAULT_MAX_TOKEN_BYTES) }), KEY);
      expect(reasonOf(big)).to.equal('too_long');
    });

    it('accepts a valid token of exactly the limit, and honours a smaller maxTokenBytes', () => {
      const token = signJws(Buffer.from(PAYLOAD), KEY);
      expect(verifyJws(token, KEY, token.length).ok).to.equal(true);
      const refused = verifyJws(token, KEY, token.length - 1);
      expect(refused.ok ? 'ok' : refused.reason).to.equal('too_long');
    });

    it('throws on a maxTokenBytes that is not a positive integer', () => {
      expect(() => verifyJws('a.b.c', KEY, 0)).to.throw(RangeError);
      expect(() => verifyJws('a.b.c', KEY, Number.NaN)).to.throw(RangeError);
    });
  });

  describe('header (RFC 7515 §4, §5.2 steps 3 and 5)', () => {
    const NOT_AN_OBJECT: ReadonlyArray<readonly [string, string | Uint8Array]> = [
      ['a JSON array', '["HS256"]'],
      ['JSON null', 'null'],
      ['a JSON string', '"HS256"'],
      ['a JSON number', '256'],
      ['text that is not JSON', '{alg:HS256}'],
      ['truncated JSON', '{"alg":"HS256"'],
      ['empty bytes', ''],
      ['invalid UTF-8 (RFC 8725 §3.7)', Uint8Array.from([0x7b, 0xff, 0x7d])],
      ['UTF-16 instead of UTF-8 (RFC 8725 §3.7)', Buffer.from('{"alg":"HS256"}', 'utf16le')],
      ['a byte order mark before the object (RFC 8259 §8.1)', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(STANDARD_HEADER)])],
    ];
    for (const [what, header] of NOT_AN_OBJECT) {
      it(`refuses a header that is ${what} as bad_header`, () => {
        expect(reasonOf(forge(header, PAYLOAD, KEY))).to.equal('bad_header');
      });
    }

    it('refuses a header without "alg" as bad_header (RFC 7515 §4.1.1: "MUST be present")', () => {
      expect(reasonOf(forge('{"typ":"JWT"}', PAYLOAD, KEY))).to.equal('bad_header');
    });

    const OTHER_ALGS: readonly unknown[] = ['none', 'None', 'NONE', 'HS384', 'HS512', 'RS256', 'ES256', 'PS256', 'EdDSA', 'hs256', 'Hs256', 'HS256 ', ' HS256', 'HS256\u0000', '', 256, null, ['HS256'], { name: 'HS256' }];
    for (const alg of OTHER_ALGS) {
      it(`refuses alg ${JSON.stringify(alg)} as alg_not_allowed, even when HMAC-SHA-256 signed (RFC 8725 §3.1, RFC 7515 §5.3)`, () => {
        expect(reasonOf(forge(JSON.stringify({ alg, typ: 'JWT' }), PAYLOAD, KEY))).to.equal('alg_not_allowed');
      });
    }

    for (const name of Object.keys(REFUSED_HEADER_PARAMETERS)) {
      it(`refuses a header carrying "${name}" as bad_header, even when correctly signed (${REFUSED_HEADER_PARAMETERS[name as keyof typeof REFUSED_HEADER_PARAMETERS]})`, () => {
        const header = JSON.stringify({ alg: 'HS256', typ: 'JWT', [name]: name === 'crit' ? ['exp'] : 'x' });
        expect(reasonOf(forge(header, PAYLOAD, KEY))).to.equal('bad_header');
      });
    }

    it('refuses the negative "crit" test case of RFC 7515 Appendix E as bad_header (RFC 7515 §4.1.11)', () => {
      const header = '{"alg":"HS256",\r\n "crit":["http://example.invalid/UNDEFINED"],\r\n "http://example.invalid/UNDEFINED":true\r\n}';
      expect(reasonOf(forge(header, PAYLOAD, KEY))).to.equal('bad_header');
    });

    it('lists crit, jku, jwk, x5u, x5c and kid among the refused header parameters (RFC 8725 §2.9, §3.10)', () => {
      expect(Object.keys(REFUSED_HEADER_PARAMETERS)).to.include.members(['crit', 'jku', 'jwk', 'x5u', 'x5c', 'kid']);
    });

    const OTHER_TYPES: readonly unknown[] = ['at+jwt', 'secevent+jwt', 'application/at+jwt', 'JWS', 'JOSE', 'jwt', 'application/jwt', '', 1, null];
    for (const typ of OTHER_TYPES) {
      it(`refuses typ ${JSON.stringify(typ)} as bad_header (RFC 7519 §5.1, RFC 8725 §3.11)`, () => {
        expect(reasonOf(forge(JSON.stringify({ alg: 'HS256', typ }), PAYLOAD, KEY))).to.equal('bad_header');
      });
    }

    it('accepts a header without "typ" (RFC 7519 §5.1: OPTIONAL)', () => {
      expect(reasonOf(forge('{"alg":"HS256"}', PAYLOAD, KEY))).to.equal('ok');
    });

    it('ignores header parameters it does not know (RFC 7515 §4: "MUST be ignored when not understood")', () => {
      expect(reasonOf(forge('{"alg":"HS256","typ":"JWT","x-trace":"abc"}', PAYLOAD, KEY))).to.equal('ok');
    });

    it('takes the lexically last of duplicate "alg" members, as RFC 7515 §4 permits', () => {
      expect(reasonOf(forge('{"alg":"HS256","alg":"none"}', PAYLOAD, KEY))).to.equal('alg_not_allowed');
      expect(reasonOf(forge('{"alg":"none","alg":"HS256"}', PAYLOAD, KEY))).to.equal('ok');
    });

    it('checks the header before the MAC: a bad alg is reported even with a wrong signature (RFC 8725 §3.1)', () => {
      expect(reasonOf(forge('{"alg":"none"}', PAYLOAD, OTHER_KEY))).to.equal('alg_not_allowed');
    });
  });

  describe('signature (RFC 7515 §5.2 step 8)', () => {
    const good = forge(STANDARD_HEADER, PAYLOAD, KEY);
    const [h, p, s] = good.split('.') as [string, string, string];

    it('refuses a token whose header was changed after signing', () => {
      expect(reasonOf(`${b64u('{"alg":"HS256","typ":"JWT","x":1}')}.${p}.${s}`)).to.equal('bad_signature');
    });

    it('refuses a token whose payload was changed after signing', () => {
      expect(reasonOf(`${h}.${b64u('{"sub":"2"}')}.${s}`)).to.equal('bad_signature');
    });

    it('refuses a token whose signature was changed', () => {
      expect(reasonOf(`${h}.${p}.${withCharAt(s, 0, s[0] === 'A' ? 'B' : 'A')}`)).to.equal('bad_signature');
    });

    it('refuses an empty signature', () => {
      expect(reasonOf(`${h}.${p}.`)).to.equal('bad_signature');
    });

    it('refuses every one-character change anywhere in a valid token', () => {
      const characters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
      fc.assert(
        fc.property(fc.nat({ max: good.length - 1 }), fc.constantFrom(...characters), (index, replacement) => {
          fc.pre(good[index] !== replacement);
          expect(reasonOf(withCharAt(good, index, replacement))).not.to.equal('ok');
        }),
        { seed: 8725, numRuns: 1000 },
      );
    });
  });

  it('answers any string with a result, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.tuple(fc.string(), fc.string(), fc.string()).map((parts) => parts.join('.')),
          fc.tuple(fc.uint8Array(), fc.uint8Array(), fc.uint8Array()).map((parts) => parts.map(b64u).join('.')),
        ),
        (token) => {
          const result = verifyJws(token, KEY);
          expect(result.ok).to.equal(false);
        },
      ),
      { seed: 1, numRuns: 1000 },
    );
  });
});
