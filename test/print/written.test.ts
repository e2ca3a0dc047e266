/**
 * The input's sums as the printer reads them (print/signs.ts): writtenFactors keys each sum by its
 * signed terms, whatever their order and the sign of the whole, so that a factor the printer forms
 * (A' + 2*eye, its terms in reading order) is known as the input's (2*eye + A)'.
 */
import { describe, expect, test } from 'vitest';
import { parse } from '../../src/syntax/parse.js';
import { sumKey, writtenFactors } from '../../src/print/signs.js';

describe('writtenFactors', () => {
  test('one key for a sum in any order of its terms and of either sign', () => {
    const key = sumKey(parse('A + 2*eye'));
    for (const text of ['2*eye + A', '-A - 2*eye', '-2*eye - A']) expect(sumKey(parse(text)), text).toBe(key);
    expect(sumKey(parse('A - 2*eye'))).not.toBe(key);
    expect(writtenFactors(parse("y'*log(softmax((2*eye + A)*x))")).has(key)).toBe(true);
  });
  test('sums inside sums and under functions, and no other forms', () => {
    const keys = writtenFactors(parse("norm2((X'*X + b*eye)*x - y)^2 + tr(B - C)"));
    for (const text of ["X'*X + b*eye", '(X\'*X + b*eye)*x - y', 'B - C']) expect(keys.has(sumKey(parse(text))), text).toBe(true);
    // Not a core of a written sum (X*x - A*x is written, X - A is not).
    expect(writtenFactors(parse('softmax(X*x - A*x)')).has(sumKey(parse('X - A')))).toBe(false);
  });
  test('a chain of n terms keys its sums of at most 32 terms only (the work stays linear in n)', () => {
    const chain = (n: number): string => Array.from({ length: n }, (_, i) => `sin(${i + 1}*a)`).join(' + ');
    expect(writtenFactors(parse(chain(5))).size).toBe(4);
    expect(writtenFactors(parse(chain(100))).size).toBe(31);
    expect(writtenFactors(parse(chain(1000))).size).toBe(31);
  });
});
