/**
 * Message text encrypted at rest (issue: "XChaCha20-Poly1305 ... keyed from
 * the server secret through HKDF, with the room and message id bound as
 * associated data").
 *
 *   key   = HKDF-SHA-256(ikm = server secret, salt = SALT, info = INFO, 32 bytes)   (RFC 5869)
 *   nonce = 24 random bytes per message (XChaCha20's nonce is long enough to be random, draft-irtf-cfrg-xchacha §3)
 *   aad   = "room:<room id>/message:<message id>"
 *   row   = nonce ‖ ciphertext ‖ tag(16)
 *
 * Binding the room and id as associated data means a row copied to another
 * room or id (a database-level attacker moving messages around) fails to
 * decrypt, exactly like a row whose bytes were changed.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from 'node:crypto';

const SALT = new TextEncoder().encode('chat-from-scratch/message-at-rest');
const INFO = new TextEncoder().encode('xchacha20poly1305 key v1');
const NONCE_BYTES = 24;
const TAG_BYTES = 16;

export class MessageCipher {
  private readonly key: Uint8Array;

  constructor(secret: Uint8Array) {
    this.key = hkdf(sha256, secret, SALT, INFO, 32);
  }

  seal(text: string, roomId: number, messageId: number): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const sealed = xchacha20poly1305(this.key, nonce, aad(roomId, messageId)).encrypt(new TextEncoder().encode(text));
    return Buffer.concat([nonce, sealed]);
  }

  /** The text, or null when the row was tampered with (or moved to another room or id). */
  open(row: Uint8Array, roomId: number, messageId: number): string | null {
    if (row.length < NONCE_BYTES + TAG_BYTES) return null;
    try {
      const plain = xchacha20poly1305(this.key, row.subarray(0, NONCE_BYTES), aad(roomId, messageId)).decrypt(row.subarray(NONCE_BYTES));
      return new TextDecoder('utf-8', { fatal: true }).decode(plain);
    } catch {
      // An authentication failure (or bytes that are not UTF-8 after it): the row is not what we wrote.
      return null;
    }
  }
}

function aad(roomId: number, messageId: number): Uint8Array {
  return new TextEncoder().encode(`room:${roomId}/message:${messageId}`);
}
