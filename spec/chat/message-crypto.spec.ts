import { expect } from 'chai';
import { MessageCipher } from '../../lib/chat/message-crypto.js';

describe('chat/message-crypto: text encrypted at rest with XChaCha20-Poly1305', () => {
  const cipher = new MessageCipher(Buffer.alloc(32, 7));

  it('round-trips text, including non-ASCII', () => {
    const row = cipher.seal('héllo 👋', 3, 42);
    expect(cipher.open(row, 3, 42)).to.equal('héllo 👋');
  });

  it('does not store the plaintext', () => {
    const row = cipher.seal('a very recognisable sentence', 1, 1);
    expect(row.toString('latin1')).to.not.include('recognisable');
  });

  it('uses a fresh nonce for each message', () => {
    expect(cipher.seal('same', 1, 1).equals(cipher.seal('same', 1, 1))).to.equal(false);
  });

  it('refuses a row with any flipped bit', () => {
    const row = cipher.seal('hello', 1, 1);
    for (let i = 0; i < row.length; i++) {
      const bad = Buffer.from(row);
      bad[i]! ^= 0x01;
      expect(cipher.open(bad, 1, 1), `byte ${i}`).to.equal(null);
    }
  });

  it('refuses a row moved to another room or message id (associated data)', () => {
    const row = cipher.seal('hello', 1, 1);
    expect(cipher.open(row, 2, 1)).to.equal(null);
    expect(cipher.open(row, 1, 2)).to.equal(null);
  });

  it('refuses a row sealed under another secret, and a truncated row', () => {
    const other = new MessageCipher(Buffer.alloc(32, 8));
    const row = cipher.seal('hello', 1, 1);
    expect(other.open(row, 1, 1)).to.equal(null);
    expect(cipher.open(row.subarray(0, 30), 1, 1)).to.equal(null);
  });
});
