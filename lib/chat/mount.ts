/**
 * The chat, mounted on the server: its tables (migration 2), the ChatService,
 * and the `/ws` endpoint with API.md's steps 3 and 4 of the handshake —
 * `chat.v1` offered, else 400; a valid token, else 401 — taken from
 * `Sec-WebSocket-Protocol: chat.v1, bearer.<jwt>` (browsers cannot set
 * headers on a WebSocket) or from `Authorization: Bearer <jwt>`.
 */
import type { ChatServer } from '../app/chat-server.js';
import type { AccountsModule } from '../accounts/routes.js';
import { bearerCredentials, unauthorized } from '../accounts/bearer.js';
import { HttpError } from '../http/http-error.js';
import type { Admission } from '../ws/upgrade.js';
import { ChatStore } from './chat-store.js';
import { ChatService } from './chat-service.js';

export const CHAT_PATH = '/ws';
export const SUBPROTOCOL = 'chat.v1';
const BEARER_PROTOCOL_PREFIX = 'bearer.';

export interface ChatModule {
  /** The running service (after start). */
  readonly service: () => ChatService;
}

export function mountChat(server: ChatServer, accounts: AccountsModule): ChatModule {
  let service: ChatService | null = null;
  const m = server.metrics;
  const metrics = {
    messagesStored: m.counter('chat_messages_stored_total', 'Chat messages committed to the database.'),
    deliveries: m.counter('chat_message_deliveries_total', 'Chat message frames written to member connections.'),
    rateLimited: m.counter('chat_rate_limited_total', 'Requests refused by a rate limit (HTTP 429 or a WebSocket rate_limited error), by kind of limit.'),
    commitSeconds: m.histogram('chat_db_commit_seconds', 'Time to commit one group of messages.', [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]),
    deliverySeconds: m.histogram('chat_delivery_seconds', 'From a send being queued to its message frames being written.', [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]),
    tampered: m.counter('chat_messages_tampered_total', 'Stored messages that failed authentication and were not delivered.'),
  };

  server.moduleMounts.push(() => {
    const store = new ChatStore(accounts.store);
    const chat = new ChatService({
      store,
      secret: server.secret,
      config: () => server.currentConfig,
      log: server.log,
      authenticate: (token, now) => accounts.authenticateToken(token, now),
      metrics,
    });
    service = chat;
    accounts.onRevoked((event) => chat.revoked(event));
    server.mountWebSocket({
      path: CHAT_PATH,
      options: server.wsOptions((c) => c.ws_max_message_bytes),
      admit: async (req, handshake): Promise<Admission> => {
        // 3. the subprotocol (API.md): chat.v1 must be offered.
        if (!handshake.protocols.includes(SUBPROTOCOL)) {
          return { ok: false, error: new HttpError(400, 'bad_request', 'offer the WebSocket subprotocol chat.v1') };
        }
        // 4. the token.
        const offered = handshake.protocols.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
        let token: string | null = offered ? offered.slice(BEARER_PROTOCOL_PREFIX.length) : null;
        if (token === null) {
          const credentials = bearerCredentials(req.head);
          if (credentials.kind === 'malformed') return { ok: false, error: unauthorized('invalid_token', 'the Authorization header is not a bearer token') };
          token = credentials.kind === 'token' ? credentials.token : null;
        }
        if (token === null || token === '') return { ok: false, error: unauthorized('unauthorized', 'log in first: a token is required') };
        const result = await accounts.authenticateToken(token, Date.now());
        if (!result.ok) return { ok: false, error: unauthorized(result.code, result.code === 'token_expired' ? 'the token has expired' : 'the token is not valid') };
        return { ok: true, protocol: SUBPROTOCOL, handler: chat, data: chat.sessionData(result.user, result.claims.jti, result.claims.exp * 1000) };
      },
    });
  });
  // Before the accounts module closes the database: commit what is queued.
  server.shutdownHooks.unshift(() => service?.stop());
  return {
    service: () => {
      if (!service) throw new Error('the chat starts with the server');
      return service;
    },
  };
}
