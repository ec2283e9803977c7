/**
 * The shapes the client shares with the server (API.md), as JSDoc types for
 * `tsc --checkJs`. Nothing here runs; other modules import the types with
 * `@typedef {import('./types.js').Name} Name`.
 */

/**
 * @typedef {object} User
 * @property {number} id
 * @property {string} username
 * @property {string} display_name
 * @property {string} created_at
 */

/**
 * What sessionStorage keeps for this tab: the token and who it belongs to.
 * @typedef {object} Session
 * @property {string} token
 * @property {string} expires_at
 * @property {User} user
 */

/**
 * @typedef {object} Limits
 * @property {number} max_message_bytes
 * @property {number} max_text_chars
 * @property {number} history_limit_max
 * @property {number} send_rate_per_second
 * @property {number} send_burst
 */

/**
 * @typedef {object} ChatMessage
 * @property {number} id
 * @property {string} room
 * @property {string} from
 * @property {string} text
 * @property {string} ts
 */

/**
 * @typedef {object} Member
 * @property {string} username
 * @property {string} display_name
 * @property {boolean} online
 */

/**
 * One entry of the `rooms` reply.
 * @typedef {object} RoomListEntry
 * @property {string} name
 * @property {boolean} private
 * @property {number} members
 * @property {number} online
 * @property {boolean} joined
 * @property {number} unread
 */

/** @typedef {'joined' | 'left' | 'online' | 'offline'} PresenceState */

/**
 * Every message the server sends on `/ws` (API.md "Server to client").
 * @typedef {{ type: 'hello', user: User, server_time: string, token_expires_at: string, limits: Limits }
 *   | { type: 'message', room: string, id: number, from: string, text: string, ts: string }
 *   | { type: 'presence', room: string, user: string, state: PresenceState }
 *   | { type: 'typing', room: string, user: string }
 *   | { type: 'ack', ref?: string, id: number, ts: string }
 *   | { type: 'joined', ref?: string, room: string, members: Member[], messages: ChatMessage[], has_more: boolean }
 *   | { type: 'left', ref?: string, room: string }
 *   | { type: 'room_deleted', ref?: string, room: string }
 *   | { type: 'history', ref?: string, room: string, messages: ChatMessage[], has_more: boolean }
 *   | { type: 'rooms', ref?: string, rooms: RoomListEntry[] }
 *   | { type: 'refreshed', ref?: string, expires_at: string }
 *   | { type: 'going_away', reconnect_after_ms: number }
 *   | { type: 'error', ref?: string, code: string, message: string, retry_after_ms?: number }
 * } ServerMessage
 */

/**
 * What the client sends (API.md "Client to server"); `ref` is added by the connection.
 * @typedef {{ type: 'create_room', room: string, private?: boolean, password?: string }
 *   | { type: 'join', room: string, password?: string, since?: number }
 *   | { type: 'leave', room: string }
 *   | { type: 'delete_room', room: string }
 *   | { type: 'send', room?: string, to?: string, text: string, cmid: string }
 *   | { type: 'history', room: string, before?: number, limit?: number }
 *   | { type: 'typing', room: string }
 *   | { type: 'read', room: string, id: number }
 *   | { type: 'rooms' }
 *   | { type: 'refresh', token: string }
 * } ClientMessage
 */

export {};
