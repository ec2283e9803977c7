/**
 * An incremental UTF-8 validator: a small deterministic finite automaton in
 * the style of Björn Höhrmann's "Flexible and Economical UTF-8 Decoder",
 * written out as two readable tables.
 *
 * Why a WebSocket server needs one: "When an endpoint is to interpret a byte
 * stream as UTF-8 but finds that the byte stream is not, in fact, a valid
 * UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_"
 * (RFC 6455 §8.1) — for text messages, which may arrive in any number of
 * fragments and TCP chunks, and for close reasons (§5.5.1).
 *
 * What "valid" means is RFC 3629 §4's syntax, which already excludes
 * overlong forms, the surrogates U+D800–U+DFFF and anything above U+10FFFF:
 *
 *     UTF8-char   = UTF8-1 / UTF8-2 / UTF8-3 / UTF8-4
 *     UTF8-1      = %x00-7F
 *     UTF8-2      = %xC2-DF UTF8-tail
 *     UTF8-3      = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
 *                   %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
 *     UTF8-4      = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
 *                   %xF4 %x80-8F 2( UTF8-tail )
 *     UTF8-tail   = %x80-BF
 *
 * The automaton reads one byte at a time and knows after every byte whether
 * the input so far can still be the start of valid UTF-8. So it fails fast:
 * `push` answers false at the first byte that proves the input invalid (RFC
 * 6455 §8.1 and Autobahn TestSuite cases 6.4.x want the connection failed
 * then, not when the message ends). Whether the input ended on a character
 * boundary is a separate question, answered by `end()`.
 */

// ---------------------------------------------------------------------------
// Table 1: every byte value belongs to one class, read off the grammar above.
// ---------------------------------------------------------------------------

const ASCII = 0; //           00..7F  a whole character (UTF8-1)
const TAIL_80_8F = 1; //      80..8F  continuation byte, low part
const TAIL_90_9F = 2; //      90..9F  continuation byte, middle part
const TAIL_A0_BF = 3; //      A0..BF  continuation byte, high part
const LEAD_2 = 4; //          C2..DF  starts a 2-byte character
const LEAD_3_E0 = 5; //       E0      starts a 3-byte character; next byte A0..BF (else overlong)
const LEAD_3 = 6; //          E1..EC, EE..EF  starts a 3-byte character
const LEAD_3_ED = 7; //       ED      starts a 3-byte character; next byte 80..9F (else a surrogate)
const LEAD_4_F0 = 8; //       F0      starts a 4-byte character; next byte 90..BF (else overlong)
const LEAD_4 = 9; //          F1..F3  starts a 4-byte character
const LEAD_4_F4 = 10; //      F4      starts a 4-byte character; next byte 80..8F (else above U+10FFFF)
const NEVER = 11; //          C0, C1 (overlong 2-byte forms), F5..FF (above U+10FFFF, old 5- and 6-byte forms)
const CLASS_COUNT = 12;

/** [first byte, last byte, class], covering 0x00–0xFF once. */
const BYTE_CLASS_RANGES: readonly (readonly [number, number, number])[] = [
  [0x00, 0x7f, ASCII],
  [0x80, 0x8f, TAIL_80_8F],
  [0x90, 0x9f, TAIL_90_9F],
  [0xa0, 0xbf, TAIL_A0_BF],
  [0xc0, 0xc1, NEVER],
  [0xc2, 0xdf, LEAD_2],
  [0xe0, 0xe0, LEAD_3_E0],
  [0xe1, 0xec, LEAD_3],
  [0xed, 0xed, LEAD_3_ED],
  [0xee, 0xef, LEAD_3],
  [0xf0, 0xf0, LEAD_4_F0],
  [0xf1, 0xf3, LEAD_4],
  [0xf4, 0xf4, LEAD_4_F4],
  [0xf5, 0xff, NEVER],
];

const BYTE_CLASS = new Uint8Array(256);
for (const [first, last, byteClass] of BYTE_CLASS_RANGES) BYTE_CLASS.fill(byteClass, first, last + 1);

// ---------------------------------------------------------------------------
// Table 2: the states, and the state each class of byte leads to.
// ---------------------------------------------------------------------------

const ACCEPT = 0; //          between characters: the input so far is valid UTF-8
const REJECT = 1; //          the input is not UTF-8, whatever follows (sticky)
const NEED_1 = 2; //          one more continuation byte 80..BF
const NEED_2 = 3; //          two more continuation bytes 80..BF
const NEED_2_E0 = 4; //       after E0: A0..BF, then one more
const NEED_2_ED = 5; //       after ED: 80..9F, then one more
const NEED_3 = 6; //          three more continuation bytes 80..BF
const NEED_3_F0 = 7; //       after F0: 90..BF, then two more
const NEED_3_F4 = 8; //       after F4: 80..8F, then two more

// Short aliases so the table below reads as a grid.
const A = ACCEPT, R = REJECT, N1 = NEED_1, N2 = NEED_2, E0 = NEED_2_E0, ED = NEED_2_ED;
const N3 = NEED_3, F0 = NEED_3_F0, F4 = NEED_3_F4;

/** TRANSITION_ROWS[state][class] = next state. Row order = state numbers above. */
// prettier-ignore
const TRANSITION_ROWS: readonly (readonly number[])[] = [
  //              ASCII 80-8F 90-9F A0-BF C2-DF  E0  E1-EF  ED   F0  F1-F3  F4  NEVER
  /* ACCEPT    */ [ A,    R,    R,    R,   N1,   E0,  N2,   ED,  F0,  N3,   F4,  R ],
  /* REJECT    */ [ R,    R,    R,    R,   R,    R,   R,    R,   R,   R,    R,   R ],
  /* NEED_1    */ [ R,    A,    A,    A,   R,    R,   R,    R,   R,   R,    R,   R ],
  /* NEED_2    */ [ R,    N1,   N1,   N1,  R,    R,   R,    R,   R,   R,    R,   R ],
  /* NEED_2_E0 */ [ R,    R,    R,    N1,  R,    R,   R,    R,   R,   R,    R,   R ],
  /* NEED_2_ED */ [ R,    N1,   N1,   R,   R,    R,   R,    R,   R,   R,    R,   R ],
  /* NEED_3    */ [ R,    N2,   N2,   N2,  R,    R,   R,    R,   R,   R,    R,   R ],
  /* NEED_3_F0 */ [ R,    R,    N2,   N2,  R,    R,   R,    R,   R,   R,    R,   R ],
  /* NEED_3_F4 */ [ R,    N2,   R,    R,   R,    R,   R,    R,   R,   R,    R,   R ],
];

/** The same table flattened for speed: TRANSITIONS[state * CLASS_COUNT + class]. */
const TRANSITIONS = Uint8Array.from(TRANSITION_ROWS.flat());

/** Validates UTF-8 fed in any number of pieces, split anywhere. */
export class Utf8Validator {
  private state = ACCEPT;

  /**
   * Feed `bytes[start..end)`. Returns false as soon as a byte proves the
   * input invalid, and keeps answering false until `reset()`.
   */
  push(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    let state = this.state;
    if (state === REJECT) return false;
    for (let i = start; i < end; i++) {
      const byte = bytes[i]!;
      // Fast path: ASCII between characters stays between characters.
      if (state === ACCEPT && byte < 0x80) continue;
      state = TRANSITIONS[state * CLASS_COUNT + BYTE_CLASS[byte]!]!;
      if (state === REJECT) break;
    }
    this.state = state;
    return state !== REJECT;
  }

  /** The input is over: true if everything fed was valid and it ended between characters. */
  end(): boolean {
    return this.state === ACCEPT;
  }

  /** Start again for a new message. */
  reset(): void {
    this.state = ACCEPT;
  }
}

/** Whether `bytes` is, in full, valid UTF-8 (RFC 3629 §4). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  const validator = new Utf8Validator();
  return validator.push(bytes) && validator.end();
}
