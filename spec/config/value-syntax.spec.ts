import { expect } from 'chai';
import fc from 'fast-check';
import { DAY, GiB, HOUR, KiB, MiB, MINUTE, SECOND } from '../../lib/config/schema.js';
import { formatDuration, formatSize, parseDuration, parseSize } from '../../lib/config/value-syntax.js';

describe('config/value-syntax: durations', () => {
  const vectors: readonly (readonly [string, number])[] = [
    ['0ms', 0], ['0s', 0], ['250ms', 250], ['10s', 10 * SECOND], ['5m', 5 * MINUTE], ['1h', HOUR], ['7d', 7 * DAY],
    ['90s', 90 * SECOND], ['1500ms', 1500], ['10 s', 10 * SECOND],
  ];
  for (const [text, ms] of vectors) {
    it(`reads "${text}" as ${ms} ms`, () => {
      expect(parseDuration(text)).to.deep.equal({ ok: true, value: ms });
    });
  }

  it('refuses a bare number, suggesting a unit', () => {
    expect(parseDuration('30')).to.deep.equal({ ok: false, message: '"30" has no unit; write e.g. 30s or 30ms (units: ms, s, m, h, d)' });
  });

  it('units are case-sensitive: "10S" and "1H" are refused (m is minutes, so letter case matters)', () => {
    expect(parseDuration('10S').ok).to.equal(false);
    expect(parseDuration('1H').ok).to.equal(false);
  });

  it('prints milliseconds in the largest unit that divides them', () => {
    expect([0, 1, 999, 1000, 1500, 60_000, 90_000, HOUR, DAY, 7 * DAY, 36 * HOUR].map(formatDuration))
      .to.deep.equal(['0s', '1ms', '999ms', '1s', '1500ms', '1m', '90s', '1h', '1d', '7d', '36h']);
  });

  it('reads back what it prints, for any duration', () => {
    fc.assert(fc.property(fc.nat({ max: 400 * DAY }), (ms) => {
      expect(parseDuration(formatDuration(ms))).to.deep.equal({ ok: true, value: ms });
    }), { seed: 6455, numRuns: 500 });
  });
});

describe('config/value-syntax: sizes', () => {
  const vectors: readonly (readonly [string, number])[] = [
    ['0', 0], ['100', 100], ['100B', 100], ['1KiB', KiB], ['8KiB', 8192], ['64 KiB', 64 * KiB], ['1MiB', MiB], ['2GiB', 2 * GiB],
  ];
  for (const [text, bytes] of vectors) {
    it(`reads "${text}" as ${bytes} bytes`, () => {
      expect(parseSize(text)).to.deep.equal({ ok: true, value: bytes });
    });
  }

  for (const text of ['1k', '1K', '1KB', '1kb', '1Kb', '1M', '1MB', '1mb', '1G', '1GB']) {
    it(`refuses the ambiguous "${text}" (1000 or 1024?)`, () => {
      const result = parseSize(text);
      expect(result.ok).to.equal(false);
      expect(result.ok ? '' : result.message).to.include('is ambiguous (1000 or 1024?)');
    });
  }

  it('prints bytes in the largest binary unit that divides them', () => {
    expect([0, 1, 1023, 1024, 1536, 65_536, MiB, GiB, 3 * GiB].map(formatSize))
      .to.deep.equal(['0B', '1B', '1023B', '1KiB', '1536B', '64KiB', '1MiB', '1GiB', '3GiB']);
  });

  it('reads back what it prints, for any size', () => {
    fc.assert(fc.property(fc.nat({ max: 8 * GiB }), (bytes) => {
      expect(parseSize(formatSize(bytes))).to.deep.equal({ ok: true, value: bytes });
    }), { seed: 1024, numRuns: 500 });
  });
});
