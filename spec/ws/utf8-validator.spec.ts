import { expect } from 'chai';
import { Utf8Validator, isValidUtf8 } from '../../lib/ws/utf8-validator.js';
import { ALL_SPLITS, describeSplit, seededRandom, split } from '../helpers/splits.js';

/** The reference: WHATWG's UTF-8 decoder in fatal mode, which follows RFC 3629 exactly. */
function decoderAccepts(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch (error) {
    if (error instanceof TypeError) return false;
    throw error;
  }
}

/**
 * The index of the first byte after which the decoder, fed one byte at a
 * time in streaming mode, knows the input is invalid; -1 if it never does.
 * The WHATWG decoder checks each byte's allowed range at once, so this is
 * the earliest byte that proves invalidity.
 */
function decoderFailIndex(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch (error) {
      if (error instanceof TypeError) return i;
      throw error;
    }
  }
  return -1;
}

function validatorFailIndex(bytes: Uint8Array): number {
  const validator = new Utf8Validator();
  for (let i = 0; i < bytes.length; i++) if (!validator.push(bytes, i, i + 1)) return i;
  return -1;
}

const b = (...bytes: number[]) => Buffer.from(bytes);

/**
 * Edge cases in the manner of Markus Kuhn's UTF-8 decoder capability and
 * stress test. `failAt`: the index of the byte that proves the input invalid;
 * -1 when no byte does (then `complete` says whether it ended between characters).
 */
const CASES: readonly { name: string; bytes: Buffer; failAt: number; complete?: boolean }[] = [
  { name: 'empty input', bytes: b(), failAt: -1, complete: true },
  { name: 'Greek "κόσμε"', bytes: Buffer.from('κόσμε'), failAt: -1, complete: true },
  // Boundaries of each sequence length.
  { name: 'U+0000, first 1-byte', bytes: b(0x00), failAt: -1, complete: true },
  { name: 'U+007F, last 1-byte', bytes: b(0x7f), failAt: -1, complete: true },
  { name: 'U+0080, first 2-byte', bytes: b(0xc2, 0x80), failAt: -1, complete: true },
  { name: 'U+07FF, last 2-byte', bytes: b(0xdf, 0xbf), failAt: -1, complete: true },
  { name: 'U+0800, first 3-byte', bytes: b(0xe0, 0xa0, 0x80), failAt: -1, complete: true },
  { name: 'U+D7FF, last before the surrogates', bytes: b(0xed, 0x9f, 0xbf), failAt: -1, complete: true },
  { name: 'U+E000, first after the surrogates', bytes: b(0xee, 0x80, 0x80), failAt: -1, complete: true },
  { name: 'U+FFFD, replacement character', bytes: b(0xef, 0xbf, 0xbd), failAt: -1, complete: true },
  { name: 'U+FFFF, last 3-byte (a noncharacter, still valid)', bytes: b(0xef, 0xbf, 0xbf), failAt: -1, complete: true },
  { name: 'U+10000, first 4-byte', bytes: b(0xf0, 0x90, 0x80, 0x80), failAt: -1, complete: true },
  { name: 'U+10FFFF, last code point', bytes: b(0xf4, 0x8f, 0xbf, 0xbf), failAt: -1, complete: true },
  // Above U+10FFFF and the old 5- and 6-byte forms.
  { name: 'U+110000 (F4 90 80 80)', bytes: b(0xf4, 0x90, 0x80, 0x80), failAt: 1 },
  { name: 'a 4-byte form led by F5', bytes: b(0xf5, 0x80, 0x80, 0x80), failAt: 0 },
  { name: 'U+1FFFFF (F7 BF BF BF)', bytes: b(0xf7, 0xbf, 0xbf, 0xbf), failAt: 0 },
  { name: 'a 5-byte form (F8 88 80 80 80)', bytes: b(0xf8, 0x88, 0x80, 0x80, 0x80), failAt: 0 },
  { name: 'a 6-byte form (FC 84 80 80 80 80)', bytes: b(0xfc, 0x84, 0x80, 0x80, 0x80, 0x80), failAt: 0 },
  { name: 'the bytes FE and FF', bytes: b(0x61, 0xfe, 0xff), failAt: 1 },
  // Overlong forms.
  { name: 'overlong "/" in 2 bytes (C0 AF)', bytes: b(0xc0, 0xaf), failAt: 0 },
  { name: 'overlong U+007F in 2 bytes (C1 BF)', bytes: b(0xc1, 0xbf), failAt: 0 },
  { name: 'overlong "/" in 3 bytes (E0 80 AF)', bytes: b(0xe0, 0x80, 0xaf), failAt: 1 },
  { name: 'overlong U+07FF in 3 bytes (E0 9F BF)', bytes: b(0xe0, 0x9f, 0xbf), failAt: 1 },
  { name: 'overlong "/" in 4 bytes (F0 80 80 AF)', bytes: b(0xf0, 0x80, 0x80, 0xaf), failAt: 1 },
  { name: 'overlong U+FFFF in 4 bytes (F0 8F BF BF)', bytes: b(0xf0, 0x8f, 0xbf, 0xbf), failAt: 1 },
  { name: 'overlong NUL in 2 bytes (C0 80)', bytes: b(0xc0, 0x80), failAt: 0 },
  // Surrogates (RFC 3629 §3: "MUST NOT" be encoded).
  { name: 'U+D800, first high surrogate', bytes: b(0xed, 0xa0, 0x80), failAt: 1 },
  { name: 'U+DBFF, last high surrogate', bytes: b(0xed, 0xaf, 0xbf), failAt: 1 },
  { name: 'U+DC00, first low surrogate', bytes: b(0xed, 0xb0, 0x80), failAt: 1 },
  { name: 'U+DFFF, last low surrogate', bytes: b(0xed, 0xbf, 0xbf), failAt: 1 },
  { name: 'a surrogate pair U+D800 U+DC00, CESU-style', bytes: b(0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80), failAt: 1 },
  // Lone and unexpected continuation bytes.
  { name: 'a lone continuation byte 80', bytes: b(0x80), failAt: 0 },
  { name: 'a lone continuation byte BF after ASCII', bytes: b(0x61, 0xbf), failAt: 1 },
  { name: 'one continuation byte too many', bytes: b(0xc3, 0xa9, 0xa9), failAt: 2 },
  // A lead byte followed by something that is not a continuation.
  { name: 'a 2-byte lead then a space', bytes: b(0xc3, 0x20), failAt: 1 },
  { name: 'a 3-byte lead, one continuation, then ASCII', bytes: b(0xe2, 0x82, 0x41), failAt: 2 },
  { name: 'a 4-byte lead, two continuations, then a new lead', bytes: b(0xf0, 0x9f, 0x98, 0xf0), failAt: 3 },
  // Truncated sequences: no byte proves anything, but the input ends mid-character.
  { name: 'a truncated 2-byte sequence', bytes: b(0x61, 0xc3), failAt: -1, complete: false },
  { name: 'a truncated 3-byte sequence (2 of 3)', bytes: b(0xe2, 0x82), failAt: -1, complete: false },
  { name: 'a truncated 4-byte sequence (3 of 4)', bytes: b(0xf0, 0x9f, 0x98), failAt: -1, complete: false },
  { name: 'a lone ED, which could still be U+D7FF', bytes: b(0xed), failAt: -1, complete: false },
];

describe('ws/utf8-validator', () => {
  describe('edge cases in the manner of Markus Kuhn\'s test file (RFC 3629 §4)', () => {
    for (const c of CASES) {
      const verdict = c.failAt === -1 ? (c.complete ? 'accepts' : 'holds as incomplete') : `refuses at byte ${c.failAt}`;
      it(`${verdict}: ${c.name}`, () => {
        expect(validatorFailIndex(c.bytes)).to.equal(c.failAt);
        expect(isValidUtf8(c.bytes)).to.equal(c.failAt === -1 && c.complete === true);
        // The reference agrees on both questions.
        expect(decoderFailIndex(c.bytes)).to.equal(c.failAt);
        expect(decoderAccepts(c.bytes)).to.equal(isValidUtf8(c.bytes));
        for (const mode of ALL_SPLITS) {
          const validator = new Utf8Validator();
          const pushed = split(c.bytes, mode).every((piece) => validator.push(piece));
          expect(pushed && validator.end(), describeSplit(mode)).to.equal(isValidUtf8(c.bytes));
        }
      });
    }
  });

  it('agrees with TextDecoder on every 1- and 2-byte input', () => {
    const pair = new Uint8Array(2);
    for (let first = 0; first < 256; first++) {
      expect(isValidUtf8(Uint8Array.of(first)), `${first}`).to.equal(decoderAccepts(Uint8Array.of(first)));
      for (let second = 0; second < 256; second++) {
        pair[0] = first;
        pair[1] = second;
        if (isValidUtf8(pair) !== decoderAccepts(pair)) expect.fail(`disagree on ${first.toString(16)} ${second.toString(16)}`);
      }
    }
  });

  it('agrees with TextDecoder, byte for byte, on every lead byte E0–F7 followed by every second byte and boundary continuations', () => {
    const tails = [0x7f, 0x80, 0xbf, 0xc0];
    for (let lead = 0xe0; lead <= 0xf7; lead++) {
      for (let second = 0; second < 256; second++) {
        for (const third of tails) {
          for (const fourth of tails) {
            const bytes = Uint8Array.of(lead, second, third, fourth);
            const failIndex = decoderFailIndex(bytes);
            // (Once a byte proved the input invalid, the whole verdict is settled: no second decode.)
            const accepted = failIndex === -1 ? decoderAccepts(bytes) : false;
            if (validatorFailIndex(bytes) !== failIndex || isValidUtf8(bytes) !== accepted) {
              expect.fail(`disagree on ${Buffer.from(bytes).toString('hex')}`);
            }
          }
        }
      }
    }
  });

  it('accepts every Unicode scalar value, and refuses every encoded surrogate (RFC 3629 §3)', () => {
    const scalars: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) scalars.push(String.fromCodePoint(cp));
    expect(isValidUtf8(Buffer.from(scalars.join('')))).to.equal(true);
    for (let cp = 0xd800; cp <= 0xdfff; cp++) {
      const bytes = Uint8Array.of(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
      if (isValidUtf8(bytes)) expect.fail(`accepted surrogate U+${cp.toString(16)}`);
    }
  });

  it('agrees with TextDecoder on many seeded random inputs, on the verdict and on the byte that decides it, however they are split', () => {
    const random = seededRandom(3629);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    for (let run = 0; run < 3000; run++) {
      // Valid text from random code points, then a few random corruptions.
      const codePoints = Array.from({ length: Math.floor(random() * 40) }, () =>
        pick([0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xffff, 0x10000, 0x10ffff, Math.floor(random() * 0x110000)]),
      ).filter((cp) => cp < 0xd800 || cp > 0xdfff);
      const bytes = [...Buffer.from(String.fromCodePoint(...codePoints))];
      const corruptions = Math.floor(random() * 3);
      for (let i = 0; i < corruptions; i++) {
        const at = Math.floor(random() * (bytes.length + 1));
        const action = pick(['replace', 'insert', 'delete', 'truncate'] as const);
        const byte = pick([Math.floor(random() * 256), 0x80, 0xbf, 0xc0, 0xed, 0xf4, 0xf5, 0xe0, 0xf0]);
        if (action === 'replace' && at < bytes.length) bytes[at] = byte;
        else if (action === 'insert') bytes.splice(at, 0, byte);
        else if (action === 'delete') bytes.splice(at, 1);
        else bytes.length = at;
      }
      const input = Buffer.from(bytes);
      const expected = decoderAccepts(input);
      expect(isValidUtf8(input), input.toString('hex')).to.equal(expected);
      expect(validatorFailIndex(input), input.toString('hex')).to.equal(decoderFailIndex(input));
      const validator = new Utf8Validator();
      const pushed = split(input, { seed: run }).every((piece) => validator.push(piece));
      expect(pushed && validator.end(), input.toString('hex')).to.equal(expected);
    }
  });

  it('validates a range of a buffer given by start and end', () => {
    const bytes = Buffer.from([0xff, 0x61, 0xc3, 0xa9, 0xff]);
    const validator = new Utf8Validator();
    expect(validator.push(bytes, 1, 4)).to.equal(true);
    expect(validator.end()).to.equal(true);
  });

  it('stays refused after an invalid byte until reset', () => {
    const validator = new Utf8Validator();
    expect(validator.push(Buffer.from([0xc0]))).to.equal(false);
    expect(validator.push(Buffer.from('fine'))).to.equal(false);
    expect(validator.end()).to.equal(false);
    validator.reset();
    expect(validator.push(Buffer.from('fine'))).to.equal(true);
    expect(validator.end()).to.equal(true);
  });
});
