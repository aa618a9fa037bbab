import { describe, expect, it } from 'vitest';
import { setBounded } from '../../src/verify/bounded-map.js';

/** The one eviction rule of the verifier's caches (src/verify/bounded-map.ts), on plain Maps. */

const entries = <K, V>(m: Map<K, V>): Array<[K, V]> => [...m.entries()];

describe('setBounded', () => {
  it('returns the value it stored', () => {
    const m = new Map<string, { n: number }>();
    const v = { n: 1 };
    expect(setBounded(m, 'a', v, 4)).toBe(v);
    expect(m.get('a')).toBe(v);
  });

  it('keeps up to max entries without evicting any', () => {
    const m = new Map<string, number>();
    setBounded(m, 'a', 1, 3);
    setBounded(m, 'b', 2, 3);
    setBounded(m, 'c', 3, 3);
    expect(entries(m)).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
  });

  it('evicts exactly the oldest entry when a new key comes to a full map', () => {
    const m = new Map<string, number>();
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3]] as const) setBounded(m, k, v, 3);
    setBounded(m, 'd', 4, 3);
    expect(entries(m)).toEqual([
      ['b', 2],
      ['c', 3],
      ['d', 4],
    ]);
    setBounded(m, 'e', 5, 3);
    expect([...m.keys()]).toEqual(['c', 'd', 'e']);
  });

  it('a key set again moves to the end with its new value, and a full map evicts nothing for it', () => {
    const m = new Map<string, number>();
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3]] as const) setBounded(m, k, v, 3);
    setBounded(m, 'a', 10, 3);
    expect(entries(m)).toEqual([
      ['b', 2],
      ['c', 3],
      ['a', 10],
    ]);
    // the next new key evicts b, now the oldest (not a, which was refreshed)
    setBounded(m, 'd', 4, 3);
    expect([...m.keys()]).toEqual(['c', 'a', 'd']);
  });

  it('max 1 keeps only the latest entry', () => {
    const m = new Map<number, string>();
    setBounded(m, 1, 'one', 1);
    setBounded(m, 2, 'two', 1);
    expect(entries(m)).toEqual([[2, 'two']]);
    setBounded(m, 2, 'again', 1);
    expect(entries(m)).toEqual([[2, 'again']]);
  });

  it('brings a map that is over max (max lowered) down by one entry per insertion', () => {
    const m = new Map<string, number>([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    setBounded(m, 'd', 4, 2);
    expect([...m.keys()]).toEqual(['b', 'c', 'd']);
  });
});
