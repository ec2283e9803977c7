/**
 * Tests of lib/http/static-files.ts (with mime-types.ts and
 * security-headers.ts): path safety, content types, validators, conditional
 * requests, the cache and its revalidation, streaming of large files.
 *
 * Every test runs on a fresh copy of a small fixture tree in os.tmpdir():
 *
 *   <tmp>/SECRET.txt, <tmp>/etc/passwd      outside public/, hold OUTSIDE_MARKER
 *   <tmp>/public-evil/index.html            a sibling whose name starts with "public"
 *   <tmp>/public/                           the served folder (see makeFixture)
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { promises as fsp, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { HttpError } from '../../lib/http/http-error.js';
import { contentTypeFor, DEFAULT_CONTENT_TYPE } from '../../lib/http/mime-types.js';
import type { HeaderField, RequestHead } from '../../lib/http/request-head.js';
import { CONTENT_SECURITY_POLICY } from '../../lib/http/security-headers.js';
import {
  CACHE_CONTROL,
  formatHttpDate,
  isNotModified,
  parseEntityTagCondition,
  parseHttpDate,
  parseStaticPath,
  REVALIDATE_INTERVAL_MS,
  securityHeaders,
  StaticFiles,
  type PathRefusal,
  type StaticResponse,
} from '../../lib/http/static-files.js';

const OUTSIDE_MARKER = 'OUTSIDE-SECRET-7f3a';
const SMALL_LIMIT = 1024;
const BIG_SIZE = 5000;

interface Fixture {
  readonly tmp: string;
  readonly publicDir: string;
  /** realpath of publicDir (os.tmpdir() may itself be a symlink, as on macOS). */
  readonly realPublic: string;
}

async function makeFixture(): Promise<Fixture> {
  const tmp = await fsp.mkdtemp(join(tmpdir(), 'static-files-'));
  const publicDir = join(tmp, 'public');
  const w = (path: string, content: string | Buffer): Promise<void> => fsp.writeFile(join(tmp, path), content);

  await fsp.mkdir(join(tmp, 'etc'));
  await fsp.mkdir(join(tmp, 'public-evil'));
  await fsp.mkdir(join(publicDir, 'sub'), { recursive: true });
  await fsp.mkdir(join(publicDir, 'empty-dir'));
  await fsp.mkdir(join(publicDir, '.git'));

  await w('SECRET.txt', `${OUTSIDE_MARKER} top secret\n`);
  await w('etc/passwd', `${OUTSIDE_MARKER} root:x:0:0:root:/root:/bin/sh\n`);
  await w('public-evil/index.html', `${OUTSIDE_MARKER} sibling folder\n`);

  await w('public/index.html', '<!doctype html><title>home</title>\n');
  await w('public/style.css', 'body { color: black; }\n');
  await w('public/app.js', 'console.log("app");\n');
  await w('public/data.json', '{"ok":true}\n');
  await w('public/icon.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>\n');
  await w('public/logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  await w('public/favicon.ico', Buffer.from([0, 0, 1, 0]));
  await w('public/font.woff2', Buffer.from('wOF2'));
  await w('public/mod.wasm', Buffer.from([0, 0x61, 0x73, 0x6d]));
  await w('public/notes.txt', 'notes\n');
  await w('public/app.webmanifest', '{"name":"chat"}\n');
  await w('public/blob.bin', Buffer.from([1, 2, 3]));
  await w('public/README', 'no extension\n');
  await w('public/SHOUT.CSS', 'p{}\n');
  await w('public/café.txt', 'UTF-8 name\n');
  await w('public/hello world.txt', 'space in name\n');
  await w('public/%41.txt', 'a literal percent sign in the name\n');
  await w('public/big.bin', Buffer.alloc(BIG_SIZE, 0x61));
  await w('public/sub/index.html', '<!doctype html><title>sub</title>\n');
  await w('public/.hidden', 'dotfile\n');
  await w('public/.git/config', '[core]\n');

  await fsp.symlink('../SECRET.txt', join(publicDir, 'out-link'));
  await fsp.symlink('../etc', join(publicDir, 'out-dir'));
  await fsp.symlink(join(tmp, 'SECRET.txt'), join(publicDir, 'abs-link'));
  await fsp.symlink('../public-evil/index.html', join(publicDir, 'evil-link.html'));
  await fsp.symlink('style.css', join(publicDir, 'in-link.css'));
  await fsp.symlink('.hidden', join(publicDir, 'dot-link.txt'));

  return { tmp, publicDir, realPublic: realpathSync(publicDir) };
}

function request(headers: readonly HeaderField[] = [], method = 'GET'): RequestHead {
  return {
    method,
    target: '/',
    version: '1.1',
    headers,
    framing: { kind: 'none' },
    keepAlive: true,
    expectContinue: false,
    upgrade: null,
  };
}

function header(response: StaticResponse, name: string): string | undefined {
  return response.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

/** Every byte the response would put on the wire as content. */
async function contentOf(response: StaticResponse): Promise<Buffer> {
  return response.kind === 'buffer' ? response.body : fsp.readFile(response.path);
}

type Outcome = { readonly response: StaticResponse } | { readonly error: unknown };

async function attempt(files: StaticFiles, pathname: string, head = request()): Promise<Outcome> {
  try {
    return { response: await files.serve(head, pathname) };
  } catch (error) {
    return { error };
  }
}

describe('static files (lib/http/static-files.ts)', () => {
  let fixture: Fixture;
  let files: StaticFiles;
  let clockMs: number;

  beforeEach(async () => {
    fixture = await makeFixture();
    clockMs = 1_000_000;
    files = new StaticFiles({
      publicDir: fixture.publicDir,
      cacheMaxFileBytes: SMALL_LIMIT,
      cacheMaxBytes: 64 * 1024,
      clock: () => clockMs,
    });
  });

  afterEach(async () => {
    await fsp.rm(fixture.tmp, { recursive: true, force: true });
  });

  describe('path safety', () => {
    // [path, status, the refusal parseStaticPath gives, or 'disk' when the path is well-formed and the disk says no]
    const TRAVERSALS: readonly (readonly [string, 400 | 404, PathRefusal | 'disk'])[] = [
      ['/../etc/passwd', 400, 'dot-segment'],
      ['/..%2fetc%2fpasswd', 400, 'encoded-slash'],
      ['/..%2Fetc%2Fpasswd', 400, 'encoded-slash'],
      ['/%2e%2e/%2e%2e/etc/passwd', 400, 'dot-segment'],
      ['/%2E%2E/', 400, 'dot-segment'],
      ['/%2e%2E/SECRET.txt', 400, 'dot-segment'],
      ['/..%5c..%5cetc', 400, 'backslash'],
      ['/..%5C..%5Cetc', 400, 'backslash'],
      ['/..\\..\\etc', 400, 'backslash'],
      ['/%c0%ae%c0%ae/', 400, 'invalid-utf8'],
      ['/%e0%80%ae%e0%80%ae/SECRET.txt', 400, 'invalid-utf8'],
      ['/%c0%af', 400, 'invalid-utf8'],
      ['/%ed%a0%80', 400, 'invalid-utf8'],
      ['/caf%E9.txt', 400, 'invalid-utf8'],
      ['/%252e%252e/', 404, 'disk'],
      ['/%252e%252e/SECRET.txt', 404, 'disk'],
      ['/a/../../', 400, 'dot-segment'],
      ['/index.html%00.txt', 400, 'control-character'],
      ['/%00', 400, 'control-character'],
      ['/index.html%0a', 400, 'control-character'],
      ['/%7f', 400, 'control-character'],
      ['/%c2%85', 400, 'control-character'],
      ['/.hidden', 404, 'dotfile'],
      ['/%2ehidden', 404, 'dotfile'],
      ['/.git/config', 404, 'dotfile'],
      ['/sub/..', 400, 'dot-segment'],
      ['/sub/.', 400, 'dot-segment'],
      ['/./index.html', 400, 'dot-segment'],
      ['//etc/passwd', 404, 'empty-segment'],
      ['/sub//index.html', 404, 'empty-segment'],
      ['/%', 400, 'bad-percent-encoding'],
      ['/%zz', 400, 'bad-percent-encoding'],
      ['/%2', 400, 'bad-percent-encoding'],
      ['/index.html%', 400, 'bad-percent-encoding'],
      ['etc/passwd', 400, 'not-absolute-path'],
      ['', 400, 'not-absolute-path'],
      ['/hello world.txt', 400, 'bad-character'],
      ['/index.html?x=1', 400, 'bad-character'],
      ['/café.txt', 400, 'bad-character'],
      ['/out-link', 404, 'disk'],
      ['/out-dir/passwd', 404, 'disk'],
      ['/abs-link', 404, 'disk'],
      ['/evil-link.html', 404, 'disk'],
      ['/dot-link.txt', 404, 'disk'],
      ['/empty-dir/', 404, 'disk'],
      ['/empty-dir', 404, 'disk'],
      ['/sub', 404, 'disk'],
      ['/style.css/', 404, 'disk'],
      ['/no-such-file.html', 404, 'disk'],
    ];

    for (const [path, status, reason] of TRAVERSALS) {
      const why = reason === 'disk' ? 'the disk has no regular file for it inside public/' : reason;
      it(`answers ${JSON.stringify(path)} with ${status} (${why}) and returns no byte from outside public/ (RFC 3986 §2.4, §3.3)`, async () => {
        const outcome = await attempt(files, path);
        expect(outcome, 'a response was returned').to.have.property('error');
        if ('response' in outcome) expect((await contentOf(outcome.response)).toString('latin1')).not.to.include(OUTSIDE_MARKER);
        const error = (outcome as { error: unknown }).error;
        expect(error).to.be.instanceOf(HttpError);
        const httpError = error as HttpError;
        expect(httpError.status).to.equal(status);
        expect(httpError.code).to.equal(status === 400 ? 'bad_request' : 'not_found');
        expect(httpError.message).not.to.include(fixture.tmp);

        const parsed = parseStaticPath(path);
        if (reason === 'disk') expect(parsed.kind).to.equal('file');
        else expect(parsed).to.deep.equal({ kind: 'refused', reason });
      });
    }

    it('decodes exactly once: "%2541.txt" names the file literally called "%41.txt", not "A.txt" (RFC 3986 §2.4)', async () => {
      const response = await files.serve(request(), '/%2541.txt');
      expect(response.status).to.equal(200);
      expect((await contentOf(response)).toString()).to.equal('a literal percent sign in the name\n');
    });

    it('serves percent-encoded UTF-8 and spaces in names (RFC 3986 §2.1, §2.5)', async () => {
      expect((await contentOf(await files.serve(request(), '/caf%C3%A9.txt'))).toString()).to.equal('UTF-8 name\n');
      expect((await contentOf(await files.serve(request(), '/hello%20world.txt'))).toString()).to.equal('space in name\n');
    });

    it('serves "/" as index.html and "/sub/" as sub/index.html', async () => {
      expect((await contentOf(await files.serve(request(), '/'))).toString()).to.include('<title>home</title>');
      expect((await contentOf(await files.serve(request(), '/sub/'))).toString()).to.include('<title>sub</title>');
      expect(parseStaticPath('/sub/')).to.deep.equal({ kind: 'file', segments: ['sub', 'index.html'], key: 'sub/index.html' });
    });

    it('follows a symlink that stays inside public/', async () => {
      const response = await files.serve(request(), '/in-link.css');
      expect(response.status).to.equal(200);
      expect((await contentOf(response)).toString()).to.equal('body { color: black; }\n');
    });

    it('answers a FIFO with 404 at once instead of waiting for a writer', async function () {
      try {
        execFileSync('mkfifo', [join(fixture.publicDir, 'pipe.txt')]);
      } catch (error) {
        this.skip(); // no mkfifo on this system
        throw error;
      }
      const outcome = await attempt(files, '/pipe.txt');
      expect((outcome as { error: HttpError }).error).to.be.instanceOf(HttpError).with.property('status', 404);
    });

    it('answers 404 for every path when public/ itself is missing, and recovers once it exists', async () => {
      const missing = new StaticFiles({ publicDir: join(fixture.tmp, 'not-yet'), cacheMaxFileBytes: SMALL_LIMIT, cacheMaxBytes: 4096 });
      const outcome = await attempt(missing, '/');
      expect((outcome as { error: HttpError }).error).to.be.instanceOf(HttpError).with.property('status', 404);
      await fsp.rename(fixture.publicDir, join(fixture.tmp, 'not-yet'));
      expect((await missing.serve(request(), '/')).status).to.equal(200);
    });

    it('never returns a byte from outside public/ for random mixes of dangerous pieces (seeded)', async () => {
      const inside = await contentsUnder(fixture.realPublic);
      const pieces = [
        '/', '..', '.', '%2e', '%2E', '%2f', '%2F', '%5c', '\\', '%00', '%c0%ae', '%25', '2e', '%', 'sub',
        'index.html', 'style.css', '.hidden', 'out-link', 'out-dir', 'abs-link', 'etc', 'passwd', 'SECRET.txt',
        'in-link.css', 'evil-link.html', '%2e%2e', '//', 'public-evil',
      ];
      const paths = fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 8 }).map((p) => '/' + p.join(''));
      await fc.assert(
        fc.asyncProperty(paths, async (path) => {
          const outcome = await attempt(files, path);
          if ('error' in outcome) {
            expect(outcome.error).to.be.instanceOf(HttpError);
            expect([400, 404]).to.include((outcome.error as HttpError).status);
            return;
          }
          const bytes = await contentOf(outcome.response);
          expect(bytes.toString('latin1')).not.to.include(OUTSIDE_MARKER);
          expect(inside.some((content) => content.equals(bytes)), `content of ${path} is a file of public/`).to.equal(true);
          if (outcome.response.kind === 'stream') expect(outcome.response.path.startsWith(fixture.realPublic + sep)).to.equal(true);
        }),
        { seed: 20_260_101, numRuns: 400 },
      );
    });

    it('refuses methods other than GET and HEAD with 405 and Allow: GET, HEAD (RFC 9110 §15.5.6)', async () => {
      const outcome = await attempt(files, '/', request([], 'POST'));
      const error = (outcome as { error: HttpError }).error;
      expect(error).to.be.instanceOf(HttpError);
      expect(error.status).to.equal(405);
      expect(error.code).to.equal('method_not_allowed');
      expect(error.headers).to.deep.equal({ Allow: 'GET, HEAD' });
    });
  });

  describe('content types (RFC 9110 §8.3)', () => {
    const TYPES: readonly (readonly [string, string])[] = [
      ['/', 'text/html; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/data.json', 'application/json; charset=utf-8'],
      ['/icon.svg', 'image/svg+xml'],
      ['/logo.png', 'image/png'],
      ['/favicon.ico', 'image/x-icon'],
      ['/font.woff2', 'font/woff2'],
      ['/mod.wasm', 'application/wasm'],
      ['/notes.txt', 'text/plain; charset=utf-8'],
      ['/app.webmanifest', 'application/manifest+json'],
      ['/blob.bin', 'application/octet-stream'],
      ['/README', 'application/octet-stream'],
      ['/SHOUT.CSS', 'text/css; charset=utf-8'],
      ['/big.bin', 'application/octet-stream'],
    ];
    for (const [path, type] of TYPES) {
      it(`sends ${path} as ${type}`, async () => {
        expect(header(await files.serve(request(), path), 'Content-Type')).to.equal(type);
      });
    }

    it('uses application/octet-stream for an unknown extension, never a guess from the bytes (RFC 2046 §4.5.1)', () => {
      expect(contentTypeFor('x.exe')).to.equal(DEFAULT_CONTENT_TYPE);
      expect(contentTypeFor('x.constructor')).to.equal(DEFAULT_CONTENT_TYPE);
      expect(contentTypeFor('.html')).to.equal(DEFAULT_CONTENT_TYPE); // a dotfile name, not an extension
    });
  });

  describe('validators (RFC 9110 §8.8)', () => {
    it('sends Content-Length, a quoted strong ETag, Last-Modified as IMF-fixdate and Cache-Control: no-cache (RFC 9110 §8.6, §8.8.2, §8.8.3; RFC 9111 §5.2.2.4)', async () => {
      const response = await files.serve(request(), '/style.css');
      const stats = await fsp.stat(join(fixture.publicDir, 'style.css'));
      expect(response.kind).to.equal('buffer');
      expect(header(response, 'Content-Length')).to.equal(String(stats.size));
      expect(header(response, 'ETag')).to.match(/^"[A-Za-z0-9_-]{22}"$/);
      expect(header(response, 'Last-Modified')).to.equal(formatHttpDate(Math.floor(stats.mtimeMs / 1000) * 1000));
      expect(header(response, 'Cache-Control')).to.equal(CACHE_CONTROL).and.to.equal('no-cache');
      expect(response.headers.map(([n]) => n)).to.deep.equal(['Content-Type', 'Content-Length', 'ETag', 'Last-Modified', 'Cache-Control']);
    });

    it('gives two files with the same bytes the same content ETag, and different bytes a different one', async () => {
      const a = header(await files.serve(request(), '/style.css'), 'ETag');
      const b = header(await files.serve(request(), '/in-link.css'), 'ETag');
      const c = header(await files.serve(request(), '/app.js'), 'ETag');
      expect(a).to.equal(b);
      expect(a).not.to.equal(c);
    });

    it('caps a Last-Modified in the future at the present (RFC 9110 §8.8.2.1)', async () => {
      const future = new Date(Date.now() + 10 * 365 * 86_400_000);
      await fsp.utimes(join(fixture.publicDir, 'notes.txt'), future, future);
      const sent = Date.parse(header(await files.serve(request(), '/notes.txt'), 'Last-Modified')!);
      expect(sent).to.be.at.most(Date.now());
    });

    it('answers HEAD with the same status and header fields as GET (RFC 9110 §9.3.2)', async () => {
      const get = await files.serve(request(), '/app.js');
      const head = await files.serve(request([], 'HEAD'), '/app.js');
      expect(head.status).to.equal(200);
      expect(head.headers).to.deep.equal(get.headers);
    });
  });

  describe('conditional requests (RFC 9110 §13)', () => {
    let etag: string;
    let lastModified: string;

    beforeEach(async () => {
      // An hour ago, so that "modified later" can still be in the past (a future Last-Modified is capped at now).
      const hourAgo = new Date(Date.now() - 3_600_000);
      await fsp.utimes(join(fixture.publicDir, 'style.css'), hourAgo, hourAgo);
      const first = await files.serve(request(), '/style.css');
      etag = header(first, 'ETag')!;
      lastModified = header(first, 'Last-Modified')!;
    });

    async function statusWith(headers: readonly HeaderField[], path = '/style.css'): Promise<StaticResponse> {
      return files.serve(request(headers), path);
    }

    it('answers 304 with ETag, Last-Modified and Cache-Control but no body, Content-Type or Content-Length (RFC 9110 §15.4.5)', async () => {
      const response = await statusWith([['if-none-match', etag]]);
      expect(response.status).to.equal(304);
      expect(response.kind).to.equal('buffer');
      expect((response as { body: Buffer }).body.length).to.equal(0);
      expect(response.headers).to.deep.equal([
        ['ETag', etag],
        ['Last-Modified', lastModified],
        ['Cache-Control', 'no-cache'],
      ]);
    });

    const MATCHING: readonly (readonly [string, (etag: string) => readonly HeaderField[]])[] = [
      ['the exact tag', (t) => [['if-none-match', t]]],
      ['a list holding the tag', (t) => [['if-none-match', `"nope", ${t}, "other"`]]],
      ['a list with empty elements and OWS', (t) => [['if-none-match', ` , "nope" ,\t${t} ,`]]],
      ['the tag in a second field line', (t) => [['if-none-match', '"nope"'], ['if-none-match', t]]],
      ['"*"', () => [['if-none-match', '*']]],
      ['the tag marked weak W/ (weak comparison, §8.8.3.2)', (t) => [['if-none-match', `W/${t}`]]],
      ['a weak tag in a list', (t) => [['if-none-match', `W/"nope", W/${t}`]]],
    ];
    for (const [what, headers] of MATCHING) {
      it(`answers 304 when If-None-Match holds ${what} (RFC 9110 §13.1.2)`, async () => {
        expect((await statusWith(headers(etag))).status).to.equal(304);
      });
    }

    const NOT_MATCHING: readonly (readonly [string, (etag: string) => readonly HeaderField[]])[] = [
      ['another tag', () => [['if-none-match', '"nope"']]],
      ['the tag without its quotes', (t) => [['if-none-match', t.slice(1, -1)]]],
      ['a lower-case w/ prefix (%s"W/" is case-sensitive)', (t) => [['if-none-match', `w/${t}`]]],
      ['"*" inside a list (not valid)', (t) => [['if-none-match', `*, ${t}`]]],
      ['an unterminated tag', () => [['if-none-match', '"abc']]],
      ['an empty value', () => [['if-none-match', '']]],
    ];
    for (const [what, headers] of NOT_MATCHING) {
      it(`answers 200 when If-None-Match holds ${what} (RFC 9110 §13.1.2)`, async () => {
        expect((await statusWith(headers(etag))).status).to.equal(200);
      });
    }

    it('ignores If-Modified-Since when If-None-Match is present, even if the date alone would give 304 (RFC 9110 §13.1.3)', async () => {
      const response = await statusWith([
        ['if-none-match', '"nope"'],
        ['if-modified-since', lastModified],
      ]);
      expect(response.status).to.equal(200);
    });

    it('answers 304 when If-Modified-Since equals Last-Modified, or is later (RFC 9110 §13.1.3)', async () => {
      expect((await statusWith([['if-modified-since', lastModified]])).status).to.equal(304);
      const later = formatHttpDate(Date.parse(lastModified) + 60_000);
      expect((await statusWith([['if-modified-since', later]])).status).to.equal(304);
    });

    it('accepts If-Modified-Since in the obsolete rfc850 and asctime formats (RFC 9110 §5.6.7)', async () => {
      const ms = Date.parse(lastModified);
      const d = new Date(ms);
      const longDays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
      const [dayName, day, month, year, time] = lastModified.replace(',', '').split(' ');
      const rfc850 = `${longDays[d.getUTCDay()]}, ${day}-${month}-${year!.slice(2)} ${time} GMT`;
      const asctime = `${dayName} ${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${time} ${year}`;
      expect((await statusWith([['if-modified-since', rfc850]])).status).to.equal(304);
      expect((await statusWith([['if-modified-since', asctime]])).status).to.equal(304);
    });

    it('answers 200 when If-Modified-Since is earlier than Last-Modified (RFC 9110 §13.1.3)', async () => {
      const earlier = formatHttpDate(Date.parse(lastModified) - 1000);
      expect((await statusWith([['if-modified-since', earlier]])).status).to.equal(200);
    });

    const IGNORED_DATES: readonly (readonly [string, readonly HeaderField[]])[] = [
      ['not a date', [['if-modified-since', 'yesterday']]],
      ['a date in ISO 8601', [['if-modified-since', '2099-01-01T00:00:00Z']]],
      ['a date with lower-case names', [['if-modified-since', 'sun, 06 nov 2094 08:49:37 gmt']]],
      ['a date on February 30', [['if-modified-since', 'Sun, 30 Feb 2099 08:49:37 GMT']]],
      ['two field lines', [['if-modified-since', 'Sun, 06 Nov 2094 08:49:37 GMT'], ['if-modified-since', 'Sun, 06 Nov 2094 08:49:37 GMT']]],
    ];
    for (const [what, headers] of IGNORED_DATES) {
      it(`ignores If-Modified-Since holding ${what} and answers 200 (RFC 9110 §13.1.3)`, async () => {
        expect((await statusWith(headers)).status).to.equal(200);
      });
    }

    it('answers 200 again once the file is modified after the If-Modified-Since date (RFC 9110 §13.1.3)', async () => {
      expect((await statusWith([['if-modified-since', lastModified]])).status).to.equal(304);
      const newer = new Date(Date.parse(lastModified) + 5000);
      await fsp.utimes(join(fixture.publicDir, 'style.css'), newer, newer);
      clockMs += REVALIDATE_INTERVAL_MS;
      const response = await statusWith([['if-modified-since', lastModified]]);
      expect(response.status).to.equal(200);
      expect(header(response, 'Last-Modified')).to.equal(formatHttpDate(newer.getTime()));
    });

    it('answers 304 for a streamed large file whose ETag matches (RFC 9110 §13.1.2)', async () => {
      const first = await files.serve(request(), '/big.bin');
      const response = await statusWith([['if-none-match', header(first, 'ETag')!]], '/big.bin');
      expect(response.status).to.equal(304);
      expect(response.kind).to.equal('buffer');
    });
  });

  describe('cache and large files', () => {
    it('streams a file over cacheMaxFileBytes: kind "stream", its real path and size, Content-Length set', async () => {
      const response = await files.serve(request(), '/big.bin');
      expect(response.kind).to.equal('stream');
      if (response.kind !== 'stream') return;
      expect(response.status).to.equal(200);
      expect(response.size).to.equal(BIG_SIZE);
      expect(response.path).to.equal(join(fixture.realPublic, 'big.bin'));
      expect(header(response, 'Content-Length')).to.equal(String(BIG_SIZE));
      expect(header(response, 'ETag')).to.match(/^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
    });

    it('streams a file that fits cacheMaxFileBytes but not cacheMaxBytes', async () => {
      const tight = new StaticFiles({ publicDir: fixture.publicDir, cacheMaxFileBytes: 1_000_000, cacheMaxBytes: 1000 });
      expect((await tight.serve(request(), '/big.bin')).kind).to.equal('stream');
      expect((await tight.serve(request(), '/style.css')).kind).to.equal('buffer');
    });

    it('serves a changed file only after the revalidation interval, or at once after clear()', async () => {
      const path = join(fixture.publicDir, 'style.css');
      expect((await contentOf(await files.serve(request(), '/style.css'))).toString()).to.equal('body { color: black; }\n');

      await fsp.writeFile(path, 'body { color: red; }\n');
      clockMs += REVALIDATE_INTERVAL_MS - 1;
      expect((await contentOf(await files.serve(request(), '/style.css'))).toString(), 'within the interval').to.equal('body { color: black; }\n');

      clockMs += 1;
      const changed = await files.serve(request(), '/style.css');
      expect((await contentOf(changed)).toString()).to.equal('body { color: red; }\n');
      expect(header(changed, 'Content-Length')).to.equal(String('body { color: red; }\n'.length));

      await fsp.writeFile(path, 'body { color: blue; }\n');
      files.clear();
      expect((await contentOf(await files.serve(request(), '/style.css'))).toString(), 'after clear()').to.equal('body { color: blue; }\n');
    });

    it('notices a change that keeps the size (same-length write) after the interval', async () => {
      const first = await files.serve(request(), '/notes.txt');
      await fsp.writeFile(join(fixture.publicDir, 'notes.txt'), 'NOTES\n');
      clockMs += REVALIDATE_INTERVAL_MS;
      const second = await files.serve(request(), '/notes.txt');
      expect((await contentOf(second)).toString()).to.equal('NOTES\n');
      expect(header(second, 'ETag')).not.to.equal(header(first, 'ETag'));
    });

    it('keeps serving the same cached bytes after revalidation finds no change', async () => {
      const first = (await files.serve(request(), '/app.js')) as { body: Buffer };
      clockMs += 10 * REVALIDATE_INTERVAL_MS;
      const second = (await files.serve(request(), '/app.js')) as { body: Buffer };
      expect(second.body).to.equal(first.body); // the same Buffer: not read again
    });

    it('answers 404 once a cached file is deleted, after the interval', async () => {
      await files.serve(request(), '/notes.txt');
      await fsp.rm(join(fixture.publicDir, 'notes.txt'));
      clockMs += REVALIDATE_INTERVAL_MS;
      const outcome = await attempt(files, '/notes.txt');
      expect((outcome as { error: HttpError }).error).to.be.instanceOf(HttpError).with.property('status', 404);
    });

    it('answers 404 once a cached name becomes a symlink pointing out of public/, after the interval', async () => {
      await files.serve(request(), '/notes.txt');
      await fsp.rm(join(fixture.publicDir, 'notes.txt'));
      await fsp.symlink('../SECRET.txt', join(fixture.publicDir, 'notes.txt'));
      clockMs += REVALIDATE_INTERVAL_MS;
      const outcome = await attempt(files, '/notes.txt');
      expect((outcome as { error: HttpError }).error).to.be.instanceOf(HttpError).with.property('status', 404);
    });

    it('reads a file once for a burst of concurrent requests', async () => {
      const responses = await Promise.all(Array.from({ length: 20 }, () => files.serve(request(), '/data.json')));
      const bodies = new Set(responses.map((r) => (r as { body: Buffer }).body));
      expect(bodies.size).to.equal(1);
    });

    it('keeps the cache within cacheMaxBytes by evicting the least recently used file', async () => {
      for (const name of ['a', 'b', 'c']) await fsp.writeFile(join(fixture.publicDir, `${name}.txt`), Buffer.alloc(800, name));
      const lru = new StaticFiles({ publicDir: fixture.publicDir, cacheMaxFileBytes: 1000, cacheMaxBytes: 2000, clock: () => clockMs });
      const body = async (path: string): Promise<Buffer> => ((await lru.serve(request(), path)) as { body: Buffer }).body;

      const a1 = await body('/a.txt');
      const b1 = await body('/b.txt');
      expect(await body('/a.txt'), 'a is cached').to.equal(a1); // and now most recently used
      await body('/c.txt'); // 2400 > 2000: b, the least recently used, goes
      expect(await body('/a.txt'), 'a stayed').to.equal(a1);
      const b2 = await body('/b.txt');
      expect(b2, 'b was evicted and read again').not.to.equal(b1);
      expect(b2.equals(b1)).to.equal(true);
    });
  });

  describe('serveCached: the answer without a promise', () => {
    it('answers a cached small file with the same objects serve() gives, 200 or 304', async () => {
      expect(files.serveCached(request(), '/style.css'), 'never served: unknown').to.equal(null);
      const ok = await files.serve(request(), '/style.css');
      expect(files.serveCached(request(), '/style.css')).to.equal(ok);
      expect(files.serveCached(request([], 'HEAD'), '/style.css')).to.equal(ok);
      const etag = header(ok, 'ETag')!;
      const conditional = request([['if-none-match', etag]]);
      const notModified = files.serveCached(conditional, '/style.css');
      expect(notModified?.status).to.equal(304);
      expect(notModified).to.equal(await files.serve(conditional, '/style.css'));
    });

    it('gives null (serve() must run) for other methods, large files, refused paths and stale entries', async () => {
      await files.serve(request(), '/style.css');
      await files.serve(request(), '/big.bin');
      expect(files.serveCached(request([], 'POST'), '/style.css')).to.equal(null);
      expect(files.serveCached(request(), '/big.bin'), 'streamed, not cached').to.equal(null);
      await attempt(files, '/../SECRET.txt');
      expect(files.serveCached(request(), '/../SECRET.txt')).to.equal(null);
      clockMs += REVALIDATE_INTERVAL_MS;
      expect(files.serveCached(request(), '/style.css'), 'due for a check against the disk').to.equal(null);
    });

    it('serves a file changed on disk once the interval has passed, and nothing stale after clear()', async () => {
      const path = join(fixture.publicDir, 'style.css');
      await files.serve(request(), '/style.css');
      await fsp.writeFile(path, 'body { color: green; }\n');
      clockMs += REVALIDATE_INTERVAL_MS;
      expect(files.serveCached(request(), '/style.css')).to.equal(null);
      expect((await contentOf(await files.serve(request(), '/style.css'))).toString()).to.equal('body { color: green; }\n');
      expect((await contentOf(files.serveCached(request(), '/style.css')!)).toString()).to.equal('body { color: green; }\n');
      files.clear();
      expect(files.serveCached(request(), '/style.css')).to.equal(null);
    });

    it('a percent-encoded spelling of a path finds the same cached file', async () => {
      const plain = await files.serve(request(), '/style.css');
      const encoded = await files.serve(request(), '/%73tyle.css');
      expect(encoded).to.equal(plain);
      expect(files.serveCached(request(), '/%73tyle.css')).to.equal(plain);
    });
  });

  describe('HTTP-date (RFC 9110 §5.6.7)', () => {
    const EXAMPLE_MS = Date.UTC(1994, 10, 6, 8, 49, 37);
    const NOW = Date.UTC(2026, 5, 1);

    it('formats IMF-fixdate', () => {
      expect(formatHttpDate(EXAMPLE_MS)).to.equal('Sun, 06 Nov 1994 08:49:37 GMT');
      expect(formatHttpDate(Date.UTC(2026, 0, 1, 0, 0, 0))).to.equal('Thu, 01 Jan 2026 00:00:00 GMT');
    });

    it('parses all three formats of the RFC example to the same instant', () => {
      expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).to.equal(EXAMPLE_MS);
      expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).to.equal(EXAMPLE_MS);
      expect(parseHttpDate('Sun Nov  6 08:49:37 1994', NOW)).to.equal(EXAMPLE_MS);
    });

    it('reads an rfc850 two-digit year more than 50 years ahead as the past century', () => {
      expect(new Date(parseHttpDate('Thursday, 01-Jan-76 00:00:00 GMT', NOW)!).getUTCFullYear()).to.equal(2076);
      expect(new Date(parseHttpDate('Friday, 01-Jan-77 00:00:00 GMT', NOW)!).getUTCFullYear()).to.equal(1977);
    });

    const INVALID = [
      'Sun, 6 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'Sun, 06 Nov 1994 08:49:37 +0000',
      'Sun, 06 nov 1994 08:49:37 GMT',
      'Sun,  06 Nov 1994 08:49:37 GMT',
      ' Sun, 06 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 24:00:00 GMT',
      'Sun, 06 Nov 1994 08:60:00 GMT',
      'Sun, 06 Nov 1994 08:49:61 GMT',
      'Thu, 29 Feb 2001 00:00:00 GMT',
      'Sun, 00 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 94 08:49:37 GMT',
      'Sun, 06-Nov-94 08:49:37 GMT',
      'Sun Nov 6 08:49:37 1994',
      '784111777',
      '',
    ];
    for (const value of INVALID) {
      it(`rejects ${JSON.stringify(value)}`, () => {
        expect(parseHttpDate(value, NOW)).to.equal(null);
      });
    }

    it('accepts February 29 of a leap year and a leap second', () => {
      expect(parseHttpDate('Tue, 29 Feb 2000 00:00:00 GMT', NOW)).to.equal(Date.UTC(2000, 1, 29));
      expect(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT', NOW)).to.equal(Date.UTC(2017, 0, 1));
    });
  });

  describe('entity-tag lists (RFC 9110 §8.8.3, §13.1.2)', () => {
    it('keeps a comma inside an opaque-tag (etagc includes ",")', () => {
      expect(parseEntityTagCondition('"a,b", W/"c"')).to.deep.equal({
        kind: 'tags',
        tags: [
          { weak: false, opaque: '"a,b"' },
          { weak: true, opaque: '"c"' },
        ],
      });
    });

    it('rejects junk between tags and a DQUOTE-less tag', () => {
      expect(parseEntityTagCondition('"a" "b"')).to.equal(null);
      expect(parseEntityTagCondition('abc')).to.equal(null);
      expect(parseEntityTagCondition('"a b"')).to.equal(null);
    });

    it('uses If-None-Match alone when both validators are present (RFC 9110 §13.2.2)', () => {
      const validators = { etag: '"x"', lastModifiedSeconds: 1000 };
      const head = request([
        ['if-none-match', '"x"'],
        ['if-modified-since', 'Thu, 01 Jan 1970 00:00:00 GMT'],
      ]);
      expect(isNotModified(head, validators, Date.now())).to.equal(true);
    });
  });

  describe('security headers', () => {
    it('sends the CSP, nosniff, no-referrer, DENY and COOP on every response', () => {
      expect(CONTENT_SECURITY_POLICY).to.equal(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
      );
      expect(securityHeaders({ tls: false })).to.deep.equal([
        ['Content-Security-Policy', CONTENT_SECURITY_POLICY],
        ['X-Content-Type-Options', 'nosniff'],
        ['Referrer-Policy', 'no-referrer'],
        ['X-Frame-Options', 'DENY'],
        ['Cross-Origin-Opener-Policy', 'same-origin'],
      ]);
    });

    it('adds Strict-Transport-Security only over TLS (RFC 6797 §7.2)', () => {
      const names = (tls: boolean): string[] => securityHeaders({ tls }).map(([n]) => n);
      expect(names(false)).not.to.include('Strict-Transport-Security');
      expect(securityHeaders({ tls: true })).to.deep.include(['Strict-Transport-Security', 'max-age=31536000']);
      expect(names(true).slice(0, -1)).to.deep.equal(names(false));
    });
  });

  describe('the shipped public/ folder', () => {
    it('holds an index.html with no inline script or style, which the CSP would block', async () => {
      const html = await fsp.readFile(new URL('../../../public/index.html', import.meta.url), 'utf8');
      expect(html).not.to.match(/<script(?![^>]*\ssrc=)[^>]*>/i);
      expect(html).not.to.match(/<style[\s>]/i);
      expect(html).not.to.match(/\sstyle\s*=/i);
      expect(html).not.to.match(/\son[a-z]+\s*=/i);
    });
  });
});

/** The contents of every regular file under `dir`, not following symlinks. */
async function contentsUnder(dir: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await contentsUnder(path)));
    else if (entry.isFile()) out.push(await fsp.readFile(path));
  }
  return out;
}
