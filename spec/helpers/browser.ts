/**
 * Chromium for the browser tests (spec/browser): Debian's `chromium` package
 * driven by `playwright-core` over the DevTools protocol, against a live
 * server from live-server.ts.
 *
 * A missing browser is a failure under CI (`CI` set: .ci/run installs it) and
 * a skip, said out loud, elsewhere.
 *
 * The spec files are compiled without the DOM library (they are Node code), so
 * what runs inside a page is passed to Playwright as a string.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { WebSocketConnection } from '../../lib/ws/connection.js';
import { REPO_ROOT, type LiveServer } from './live-server.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(REPO_ROOT, 'spec-output', 'screenshots');

/** Quiet, headless and self-contained: no sandbox (containers, root), no GPU, no calls home. */
const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The server's certificate is self-signed (contexts also set ignoreHTTPSErrors).
  '--ignore-certificate-errors',
];

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/**
 * Launch Chromium from a mocha `before` hook, or skip the suite when it is
 * not installed — except under CI, where that is a failure.
 */
export async function launchChromium(ctx: Mocha.Context): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    const why = `Chromium is not installed at ${CHROMIUM_PATH} (apt-get install -y chromium)`;
    if (process.env.CI) throw new Error(`${why}: in CI the browser tests must run`);
    console.log(`      skipping the browser tests: ${why}`);
    ctx.skip();
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: LAUNCH_ARGS, timeout: 30_000 });
}

/** What a page said that a test may want to assert on. */
export interface PageWatch {
  /** Uncaught exceptions in page scripts. */
  readonly pageErrors: string[];
  /** Console errors that are CSP violations ("Refused to …"). */
  readonly cspViolations: string[];
  /** alert/confirm/prompt dialogs (dismissed). */
  readonly dialogs: string[];
  /** Every text frame the page's WebSockets sent and received, parsed. */
  readonly sent: Record<string, unknown>[];
  readonly received: Record<string, unknown>[];
}

export interface OpenPage {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly watch: PageWatch;
}

export function baseUrl(live: LiveServer): string {
  return `https://127.0.0.1:${live.port}`;
}

/** A fresh browser context (its own sessionStorage: another person) with one page on `url`. */
export async function openPage(
  browser: Browser,
  url: string,
  options: { viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark' } = {},
): Promise<OpenPage> {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: options.viewport ?? DESKTOP,
    colorScheme: options.colorScheme ?? 'light',
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(8000);
  const watch: PageWatch = { pageErrors: [], cspViolations: [], dialogs: [], sent: [], received: [] };
  page.on('pageerror', (err) => watch.pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) watch.cspViolations.push(msg.text());
  });
  page.on('dialog', (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('websocket', (ws) => {
    const parse = (payload: string | Buffer): Record<string, unknown> | null => {
      try {
        return JSON.parse(payload.toString()) as Record<string, unknown>;
      } catch {
        return null;
      }
    };
    ws.on('framesent', (f) => {
      const m = parse(f.payload);
      if (m) watch.sent.push(m);
    });
    ws.on('framereceived', (f) => {
      const m = parse(f.payload);
      if (m) watch.received.push(m);
    });
  });
  await page.goto(url);
  return { context, page, watch };
}

/** Retry `check` (an assertion) until it passes or `timeoutMs` is over; then its last error. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Close every WebSocket of `username` from the server's side, the hard way:
 * the TCP socket is destroyed, as when a network drops (no close frame).
 */
export function dropSocketsOf(live: LiveServer, username: string): number {
  let dropped = 0;
  for (const conn of live.server.connections) {
    const owner = conn.owner;
    if (!(owner instanceof WebSocketConnection)) continue;
    const data = owner.data as { user?: { username?: string } } | null;
    if (data?.user?.username?.toLowerCase() !== username.toLowerCase()) continue;
    conn.raw.destroy();
    dropped++;
  }
  return dropped;
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return join(SCREENSHOT_DIR, `${name}.png`);
}

/** One message as the page shows it. */
export interface ShownMessage {
  readonly id: string | null;
  readonly cmid: string | null;
  readonly author: string;
  readonly text: string;
  readonly pending: boolean;
  readonly status: string;
}

const READ_MESSAGES = `[...document.querySelectorAll('#message-list li.msg')].map((li) => ({
  id: li.dataset.id ?? null,
  cmid: li.dataset.cmid ?? null,
  author: li.dataset.author ?? '',
  text: li.querySelector('.msg-text')?.textContent ?? '',
  pending: li.classList.contains('msg--pending'),
  status: li.querySelector('.msg-status')?.textContent ?? '',
}))`;

/** The messages of the open room, in the order shown. */
export async function shownMessages(page: Page): Promise<ShownMessage[]> {
  return (await page.evaluate(READ_MESSAGES)) as ShownMessage[];
}

/** The session this tab keeps (sessionStorage). */
export async function sessionOf(page: Page): Promise<{ token: string; user: { username: string } }> {
  const raw = (await page.evaluate(`sessionStorage.getItem('chat.session')`)) as string | null;
  if (!raw) throw new Error('no session in this tab');
  return JSON.parse(raw) as { token: string; user: { username: string } };
}
