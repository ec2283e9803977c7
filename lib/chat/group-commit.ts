/**
 * Group commit (DESIGN.md "commit before ack"): every `send` of one turn of
 * the event loop is written in one SQLite transaction, and only after that
 * transaction commits are the senders told (`ack`) and the rooms given the
 * messages. One fsync-bearing commit for many messages is what makes durable
 * delivery cheap; "an acknowledged message survives kill -9" because the ack
 * is never written before the commit returns.
 *
 *   turn N:   send, send, send ──► queue
 *   turn N+1: setImmediate ──► BEGIN IMMEDIATE; number, seal, insert …; COMMIT ──► done() × 3, in order
 */
import type Database from 'better-sqlite3';
import type { ChatStore } from './chat-store.js';
import type { MessageCipher } from './message-crypto.js';
import type { Histogram } from '../metrics/metrics.js';

export interface PendingSend {
  readonly roomId: number;
  readonly userId: number;
  readonly text: string;
  readonly cmid: string | null;
  /** Called once, after the commit (or its failure), in the order sends were queued. */
  readonly done: (result: SendResult) => void;
}

export type SendResult =
  | { readonly ok: true; readonly id: number; readonly ts: string; readonly duplicate: boolean }
  | { readonly ok: false; readonly reason: 'room_gone' | 'internal' };

export class GroupCommit {
  private queue: PendingSend[] = [];
  private scheduled: NodeJS.Immediate | null = null;
  private readonly roomExists: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly store: ChatStore,
    private readonly cipher: MessageCipher,
    private readonly commitSeconds: Histogram,
    private readonly onError: (err: Error) => void,
  ) {
    this.roomExists = db.prepare('SELECT 1 FROM rooms WHERE id = ?').pluck();
  }

  enqueue(send: PendingSend): void {
    this.queue.push(send);
    this.scheduled ??= setImmediate(() => this.flush());
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Commit everything queued now (the drain calls this before saying goodbye). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const started = process.hrtime.bigint();
    let results: SendResult[];
    try {
      results = this.db.transaction(() => this.write(batch)).immediate();
    } catch (err) {
      this.onError(err instanceof Error ? err : new Error(String(err)));
      results = batch.map(() => ({ ok: false, reason: 'internal' }) as const);
    }
    this.commitSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    for (let i = 0; i < batch.length; i++) batch[i]!.done(results[i]!);
  }

  /** Inside the transaction: number the batch from the store's counter, seal, insert. */
  private write(batch: readonly PendingSend[]): SendResult[] {
    let lastId = this.store.lastMessageId();
    const ts = new Date().toISOString();
    const seenInBatch = new Map<string, SendResult>();
    const out: SendResult[] = [];
    for (const send of batch) {
      if (this.roomExists.get(send.roomId) === undefined) {
        out.push({ ok: false, reason: 'room_gone' });
        continue;
      }
      if (send.cmid !== null) {
        // API.md: a repeated cmid gets the original ack and stores nothing new.
        const key = `${send.userId}/${send.roomId}/${send.cmid}`;
        const earlier = seenInBatch.get(key) ?? this.earlier(send);
        if (earlier) {
          out.push(earlier);
          continue;
        }
        const id = ++lastId;
        this.store.insertMessage({ id, roomId: send.roomId, userId: send.userId, sealed: this.cipher.seal(send.text, send.roomId, id), cmid: send.cmid, createdAt: ts });
        out.push({ ok: true, id, ts, duplicate: false });
        seenInBatch.set(key, { ok: true, id, ts, duplicate: true });
        continue;
      }
      const id = ++lastId;
      this.store.insertMessage({ id, roomId: send.roomId, userId: send.userId, sealed: this.cipher.seal(send.text, send.roomId, id), cmid: null, createdAt: ts });
      out.push({ ok: true, id, ts, duplicate: false });
    }
    return out;
  }

  private earlier(send: PendingSend): SendResult | null {
    const row = this.store.findByCmid(send.userId, send.roomId, send.cmid!);
    return row ? { ok: true, id: row.id, ts: row.createdAt, duplicate: true } : null;
  }
}
