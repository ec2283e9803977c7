import { expect } from 'chai';
import { CLOSE } from '../../lib/ws/constants.js';
import {
  CLOSE_CODE_RANGES,
  closeCodeName,
  closeReplyCode,
  isAllowedCloseCode,
  validateClosePayload,
} from '../../lib/ws/close.js';
import { WsProtocolError } from '../../lib/ws/ws-error.js';

const payload = (code: number, reason: Buffer | string = '') =>
  Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

describe('ws/close', () => {
  describe('validateClosePayload', () => {
    const accepted: readonly { name: string; payload: Buffer; code: number | null; reason: string }[] = [
      { name: 'an empty payload, as "no status code" (RFC 6455 §7.1.5)', payload: Buffer.alloc(0), code: null, reason: '' },
      { name: 'a code with no reason (RFC 6455 §5.5.1)', payload: payload(1000), code: 1000, reason: '' },
      { name: 'a code with a UTF-8 reason (RFC 6455 §5.5.1)', payload: payload(1001, 'going away: ✓'), code: 1001, reason: 'going away: ✓' },
      { name: 'a reason of 123 bytes, the most that fits (RFC 6455 §5.5)', payload: payload(1000, 'x'.repeat(123)), code: 1000, reason: 'x'.repeat(123) },
      { name: 'our own private-use code 4001 (RFC 6455 §7.4.2)', payload: payload(4001, 'token expired'), code: 4001, reason: 'token expired' },
      { name: 'the IANA-registered 1012 (RFC 6455 §11.7)', payload: payload(1012), code: 1012, reason: '' },
      { name: 'a library code 3000 (RFC 6455 §7.4.2)', payload: payload(3000), code: 3000, reason: '' },
    ];
    for (const row of accepted) {
      it(`accepts ${row.name}`, () => {
        expect(validateClosePayload(row.payload)).to.deep.equal({ code: row.code, reason: row.reason });
      });
    }

    const refused: readonly { name: string; payload: Buffer; closeCode: number }[] = [
      { name: 'a 1-byte payload (RFC 6455 §5.5.1)', payload: Buffer.from([0x03]), closeCode: 1002 },
      { name: 'a payload longer than 125 bytes (RFC 6455 §5.5)', payload: payload(1000, 'x'.repeat(124)), closeCode: 1002 },
      { name: 'code 0 (RFC 6455 §7.4.2)', payload: payload(0), closeCode: 1002 },
      { name: 'code 999 (RFC 6455 §7.4.2)', payload: payload(999), closeCode: 1002 },
      { name: 'code 1004, reserved (RFC 6455 §7.4.1)', payload: payload(1004), closeCode: 1002 },
      { name: 'code 1005, never sent (RFC 6455 §7.4.1)', payload: payload(1005), closeCode: 1002 },
      { name: 'code 1006, never sent (RFC 6455 §7.4.1)', payload: payload(1006), closeCode: 1002 },
      { name: 'code 1015, never sent (RFC 6455 §7.4.1)', payload: payload(1015), closeCode: 1002 },
      { name: 'code 1016, unassigned (RFC 6455 §7.4.2)', payload: payload(1016), closeCode: 1002 },
      { name: 'code 2999, unassigned (RFC 6455 §7.4.2)', payload: payload(2999), closeCode: 1002 },
      { name: 'code 5000, outside every range (RFC 6455 §7.4.2)', payload: payload(5000), closeCode: 1002 },
      { name: 'a reason that is not UTF-8 (RFC 6455 §5.5.1, §8.1)', payload: payload(1000, Buffer.from([0xed, 0xa0, 0x80])), closeCode: 1007 },
      { name: 'a reason cut inside a character (RFC 6455 §8.1)', payload: payload(1000, Buffer.from([0x61, 0xe2, 0x82])), closeCode: 1007 },
    ];
    for (const row of refused) {
      it(`fails with ${row.closeCode} on ${row.name}`, () => {
        const result = validateClosePayload(row.payload);
        expect(result).to.be.instanceOf(WsProtocolError);
        expect((result as WsProtocolError).closeCode).to.equal(row.closeCode);
      });
    }
  });

  describe('the table of close codes', () => {
    it('covers 0–4999 once, in order, with no gap or overlap', () => {
      let next = 0;
      for (const range of CLOSE_CODE_RANGES) {
        expect(range.from).to.equal(next);
        expect(range.to).to.be.at.least(range.from);
        next = range.to + 1;
      }
      expect(next).to.equal(5000);
    });

    it('allows exactly 1000–1003, 1007–1014 and 3000–4999 (RFC 6455 §7.4, Autobahn 7.7.x and 7.9.x)', () => {
      const allowed: number[] = [];
      for (let code = 0; code <= 0xffff; code++) if (isAllowedCloseCode(code)) allowed.push(code);
      const expected = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014];
      for (let code = 3000; code <= 4999; code++) expected.push(code);
      expect(allowed).to.deep.equal(expected);
    });

    it('allows every code of CLOSE except the two that stand for "no Close frame code" (RFC 6455 §7.4.1)', () => {
      for (const [name, code] of Object.entries(CLOSE)) {
        const neverSent = code === CLOSE.NO_STATUS || code === CLOSE.ABNORMAL;
        expect(isAllowedCloseCode(code), name).to.equal(!neverSent);
      }
    });
  });

  describe('closeCodeName', () => {
    it('names every code of CLOSE', () => {
      expect(closeCodeName(CLOSE.NORMAL)).to.equal('normal');
      expect(closeCodeName(CLOSE.MESSAGE_TOO_BIG)).to.equal('message_too_big');
      expect(closeCodeName(CLOSE.SLOW_CONSUMER)).to.equal('slow_consumer');
      for (const code of Object.values(CLOSE)) expect(closeCodeName(code)).to.not.equal('invalid');
    });

    it('names any other code after its range, so metric labels stay few', () => {
      expect(closeCodeName(3123)).to.equal('registered');
      expect(closeCodeName(4321)).to.equal('private');
      expect(closeCodeName(2000)).to.equal('invalid');
      expect(closeCodeName(65535)).to.equal('invalid');
    });
  });

  describe('closeReplyCode', () => {
    it('echoes the code received (RFC 6455 §5.5.1)', () => {
      expect(closeReplyCode(1001)).to.equal(1001);
      expect(closeReplyCode(4000)).to.equal(4000);
    });

    it('answers a Close without a code with 1000, never 1005 (RFC 6455 §7.4.1)', () => {
      expect(closeReplyCode(null)).to.equal(1000);
    });
  });
});
