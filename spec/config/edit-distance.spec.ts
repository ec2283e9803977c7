import { expect } from 'chai';
import { editDistance, nearest } from '../../lib/config/edit-distance.js';

describe('config/edit-distance: Damerau–Levenshtein (optimal string alignment)', () => {
  const vectors: readonly (readonly [string, string, number])[] = [
    ['', '', 0],
    ['', 'abc', 3],
    ['abc', '', 3],
    ['port', 'port', 0],
    ['prot', 'port', 1], // one swap of neighbours
    ['max_conections', 'max_connections', 1], // one deletion
    ['max_connectionss', 'max_connections', 1], // one insertion
    ['tls', 'tl5', 1], // one substitution
    ['ca', 'abc', 3], // OSA: no substring is edited twice (true Damerau–Levenshtein would say 2)
    ['kitten', 'sitting', 3],
  ];
  for (const [a, b, distance] of vectors) {
    it(`"${a}" to "${b}" is ${distance}`, () => {
      expect(editDistance(a, b)).to.equal(distance);
      expect(editDistance(b, a)).to.equal(distance);
    });
  }

  it('suggests the nearest candidate within 2, earlier candidates winning ties', () => {
    expect(nearest('prot', ['host', 'port'])).to.equal('port');
    expect(nearest('post', ['host', 'port'])).to.equal('host');
    expect(nearest('abcdef', ['host', 'port'])).to.equal(undefined);
  });

  it('forgives letter case and - for _ before measuring', () => {
    expect(nearest('MAX-CONNECTIONS', ['max_connections'])).to.equal('max_connections');
  });

  it('falls back to a candidate of 3 or more characters that the word starts with', () => {
    expect(nearest('warning', ['debug', 'info', 'warn', 'error'])).to.equal('warn');
    expect(nearest('information', ['debug', 'info', 'warn', 'error'])).to.equal('info');
    expect(nearest('wsxyz', ['ws'])).to.equal(undefined);
  });
});
