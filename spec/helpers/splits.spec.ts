import { expect } from 'chai';
import { split, ALL_SPLITS } from './splits.js';

describe('spec helper: split', () => {
  it('every split mode reassembles to the original bytes', () => {
    const input = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    for (const mode of ALL_SPLITS) expect(Buffer.concat(split(input, mode)).equals(input)).to.equal(true);
  });
  it('a seeded split is the same every time', () => {
    const input = Buffer.alloc(500, 7);
    expect(split(input, { seed: 9 }).map((b) => b.length)).to.deep.equal(split(input, { seed: 9 }).map((b) => b.length));
  });
});
