/**
 * Advice for an unknown function: another tool's spelling mapped to ricci's (every suggested form
 * is valid input), a known function a typing slip away, or nothing for a name that is neither.
 */
import { describe, expect, test } from 'vitest';
import { parse } from '../../src/syntax/parse.js';
import { check } from '../../src/syntax/check.js';
import { characterAdvice, editDistance, functionAdvice, SPELLINGS } from '../../src/syntax/suggest.js';
import { ELEMENTWISE_FNS, STRUCTURAL_FNS } from '../../src/syntax/ops.js';

describe('advice for unknown functions', () => {
  test('every suggested form parses and type-checks', () => {
    for (const [name, s] of Object.entries(SPELLINGS)) {
      expect(s.write.length, name).toBeGreaterThan(0);
      for (const form of s.write) expect(() => check(form, parse(form)), `${name}: ${form}`).not.toThrow();
    }
  });

  test('no spelling shadows a function ricci has', () => {
    const known = new Set<string>([...ELEMENTWISE_FNS, ...STRUCTURAL_FNS]);
    for (const name of Object.keys(SPELLINGS)) expect(known.has(name), name).toBe(false);
  });

  test.each([
    ['norm', 'write norm2(x) or norm1(x) (norm2 is Euclidean, and Frobenius for a matrix)'],
    ['Trace', 'write tr(A)'],
    ['sinh', 'write (exp(x) - exp(-x))/2'],
    ['sigmod', 'did you mean sigmoid?'],
    ['logdett', 'did you mean logdet?'],
    ['expp', 'did you mean exp?'],
    ['sofplus', 'did you mean softplus?'],
    ['arctna', 'did you mean arctan?'],
    ['Tr', 'did you mean tr? (names are case-sensitive)'],
    ['EXP', 'did you mean exp? (names are case-sensitive)'],
  ])('%s: %s', (name, advice) => {
    expect(functionAdvice(name)).toBe(advice);
  });

  test.each(['foo', 'max', 'constructor', '__proto__', 'toString', 'q'])('%s: no advice', (name) => {
    expect(functionAdvice(name)).toBeUndefined();
  });

  test.each([
    ['A\\b', 1, "write inv(A)*b for MATLAB's A\\b"],
    ['A.T', 1, "write A' for the transpose (NumPy's .T)"],
    ['A.Tx', 1, "a '.' starts only the element-wise operators .* ./ .^"],
    ["x.'*y", 1, "write A' for the transpose (MATLAB's .')"],
    ['x.y', 1, "a '.' starts only the element-wise operators .* ./ .^"],
    ['A@B', 1, 'write * for the matrix product'],
    ['x#', 1, undefined],
  ])('character %s at %i', (text, offset, advice) => {
    expect(characterAdvice(text, offset)).toBe(advice);
  });

  test('edit distance counts insertions, deletions, substitutions and neighbour swaps', () => {
    expect(editDistance('sigmoid', 'sigmoid')).toBe(0);
    expect(editDistance('sigmod', 'sigmoid')).toBe(1);
    expect(editDistance('tarce', 'trace')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    for (const [a, b] of [['exp', 'log'], ['det', 'diag'], ['norm1', 'norm2']]) expect(editDistance(a!, b!)).toBe(editDistance(b!, a!));
  });
});
