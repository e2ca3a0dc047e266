/**
 * solveSizes: concrete sizes that satisfy total = Π parts, for the self-check of generated modules
 * and the page's random point (src/sizeRelations.ts).
 */
import { describe, expect, test } from 'vitest';
import { settleSizes, solveSizes } from '../../src/sizeRelations.js';

const holds = (relations: { total: string; parts: string[] }[], sizes: Map<string, number>): boolean => settleSizes(relations, sizes) !== undefined;

describe('solveSizes', () => {
  test('start values that hold are kept', () => {
    const rel = [{ total: 'r', parts: ['n', 'm'] }];
    expect(solveSizes(rel, new Map([['n', 3], ['m', 4]]))).toEqual(new Map([['n', 3], ['m', 4]]));
  });

  test("a free total is set to its parts' product (x'*kron(y, z): n = m·p)", () => {
    const rel = [{ total: 'n', parts: ['m', 'p'] }];
    expect(solveSizes(rel, new Map([['n', 3], ['m', 4], ['p', 5]]))).toEqual(new Map([['n', 20], ['m', 4], ['p', 5]]));
  });

  test('two products that must be equal (vec(X)\'*kron(y, z): n·m = p·q)', () => {
    const rel = [
      { total: 'r', parts: ['q', 'p'] },
      { total: 'r', parts: ['n', 'm'] },
    ];
    const s = solveSizes(rel, new Map([['n', 3], ['m', 4], ['p', 5], ['q', 6]]))!;
    expect(s.get('n')! * s.get('m')!).toBe(s.get('p')! * s.get('q')!);
    expect(holds(rel, s)).toBe(true);
  });

  test('a quotient is whole (len(x)/len(y) with len(x) = k·len(y))', () => {
    const rel = [{ total: 'm', parts: ['k', 'p'] }];
    const s = solveSizes(rel, new Map([['n', 3], ['m', 4], ['p', 5]]))!;
    expect(s.get('m')! % s.get('p')!).toBe(0);
    expect(holds(rel, s)).toBe(true);
  });

  test('fixed sizes are kept; where they break a relation, undefined', () => {
    const rel = [{ total: 'n', parts: ['m', 'p'] }];
    expect(solveSizes(rel, new Map([['n', 3], ['m', 2], ['p', 3]]), new Set(['m', 'p']))).toEqual(new Map([['n', 6], ['m', 2], ['p', 3]]));
    expect(solveSizes(rel, new Map([['n', 5], ['m', 2], ['p', 3]]), new Set(['n', 'm', 'p']))).toBeUndefined();
    // n fixed at 12: the free parts follow (the search finds m·p = 12).
    const s = solveSizes(rel, new Map([['n', 12], ['m', 4], ['p', 5]]), new Set(['n']))!;
    expect(s.get('n')).toBe(12);
    expect(s.get('m')! * s.get('p')!).toBe(12);
  });

  test('settleSizes works out derived sizes and refuses a failing relation', () => {
    const rel = [
      { total: 'r', parts: ['n', 'm'] },
      { total: 'r', parts: ['k', 'p'] },
    ];
    expect(settleSizes(rel, new Map([['n', 2], ['m', 6], ['p', 4]]))).toEqual(new Map([['n', 2], ['m', 6], ['p', 4], ['r', 12], ['k', 3]]));
    expect(settleSizes(rel, new Map([['n', 2], ['m', 5], ['p', 4]]))).toBeUndefined();
  });
});
