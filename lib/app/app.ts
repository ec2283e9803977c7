/**
 * The whole application: the server with the accounts (HTTP routes, tokens)
 * and the chat (`/ws`) mounted, in that order — the chat's tables refer to
 * the accounts' users.
 */
import { ChatServer, type ChatServerOptions } from './chat-server.js';
import { mountAccounts, type AccountsModule } from '../accounts/routes.js';
import { mountChat, type ChatModule } from '../chat/mount.js';

export interface App {
  readonly server: ChatServer;
  readonly accounts: AccountsModule;
  readonly chat: ChatModule;
}

export function createApp(options: ChatServerOptions): App {
  const server = new ChatServer(options);
  const accounts = mountAccounts(server);
  const chat = mountChat(server, accounts);
  return { server, accounts, chat };
}
