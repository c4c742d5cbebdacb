import { describe, expect, it } from 'vitest';
import { mapSegments, segmentChanges } from '../../udfs/index.ts';

const ACME = { '1001': 'acme-auto', '1003': 'acme-travel', '1007': '55012', '2001': 'acme-auto' };

describe('mapSegments', () => {
  it('maps our ids to partner codes, dropping unmapped ids, sorted and de-duplicated', () => {
    expect(mapSegments([1007, 1001, 1040, 1003], ACME)).toEqual(['55012', 'acme-auto', 'acme-travel']);
    // 1001 and 2001 both map to acme-auto; the id 1001 twice too.
    expect(mapSegments([2001, 1001, 1001], ACME)).toEqual(['acme-auto']);
    expect(mapSegments([3001, 3002], ACME)).toEqual([]);
    expect(mapSegments([], ACME)).toEqual([]);
  });

  it('reads Int32Array lists as the Parquet reader returns them', () => {
    expect(mapSegments(Int32Array.from([1003, 1001]), ACME)).toEqual(['acme-auto', 'acme-travel']);
  });

  it('sorts by UTF-16 code units, not locale', () => {
    expect(mapSegments([1, 2, 3, 4], { '1': 'b', '2': 'B', '3': 'é', '4': '10' })).toEqual(['10', 'B', 'b', 'é']);
  });

  it('refuses a malformed segment map, naming the key', () => {
    expect(() => mapSegments([1], { abc: 'x' })).toThrow('segmentMap: key "abc" is not one of our segment ids (digits only)');
    expect(() => mapSegments([1], { '1': '' })).toThrow('segmentMap: segment 1 maps to ""; expected a non-empty partner segment code');
  });
});

describe('segmentChanges', () => {
  it('gives added and removed codes, sorted', () => {
    expect(segmentChanges(['a', 'c', 'd'], ['d', 'b', 'a', 'e'])).toEqual({ added: ['b', 'e'], removed: ['c'] });
  });

  it('is empty for the same set in any order, and full for an empty side', () => {
    expect(segmentChanges(['x', 'y'], ['y', 'x', 'x'])).toEqual({ added: [], removed: [] });
    expect(segmentChanges([], ['b', 'a'])).toEqual({ added: ['a', 'b'], removed: [] });
    expect(segmentChanges(['b', 'a', 'a'], [])).toEqual({ added: [], removed: ['a', 'b'] });
  });
});
