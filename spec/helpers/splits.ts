/**
 * Ways to cut one input into pieces, so a sans-IO parser can be fed the same
 * bytes whole, one byte at a time, and at seeded random points (STYLE.md §13).
 * A parser that gives different results for different cuts has a bug.
 */

/** A small deterministic PRNG (mulberry32), so a failing split can be replayed by seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type SplitMode = 'whole' | 'bytewise' | { seed: number };

/** Cut `input` into pieces according to `mode`. Pieces are copies, never views of each other. */
export function split(input: Buffer, mode: SplitMode): Buffer[] {
  if (mode === 'whole') return [Buffer.from(input)];
  if (mode === 'bytewise') return [...input].map((b) => Buffer.from([b]));
  const rnd = seededRandom(mode.seed);
  const pieces: Buffer[] = [];
  let at = 0;
  while (at < input.length) {
    const len = 1 + Math.floor(rnd() * Math.min(64, input.length - at));
    pieces.push(Buffer.from(input.subarray(at, at + len)));
    at += len;
  }
  return pieces;
}

/** The standard set of modes every parser vector is run under: whole, bytewise and five seeded random splits. */
export const ALL_SPLITS: readonly SplitMode[] = ['whole', 'bytewise', { seed: 1 }, { seed: 2 }, { seed: 3 }, { seed: 42 }, { seed: 1337 }];

export function describeSplit(mode: SplitMode): string {
  return typeof mode === 'string' ? mode : `random split (seed ${mode.seed})`;
}
