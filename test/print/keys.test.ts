/**
 * Key.id, the identity of a printed form's text that the printer compares instead of the text (a
 * form whose parts share sub-forms has a text exponential in its size): equal texts have equal ids
 * however their ropes are cut, and Key.idAfter is the id of the text after a head.
 */
import { expect, test } from 'vitest';
import fc from 'fast-check';
import { Key } from '../../src/print/matrix.js';

/** A rope of the text, cut at the given points and nested at random. */
function rope(text: string, cuts: readonly number[], nest: readonly boolean[]): Key {
  const points = [...new Set([0, ...cuts.map((c) => c % (text.length + 1)), text.length])].sort((a, b) => a - b);
  let parts: (string | Key)[] = [];
  for (let i = 1; i < points.length; i++) {
    parts.push(text.slice(points[i - 1], points[i]));
    if (nest[i % nest.length] && parts.length > 1) parts = [new Key(parts, 'other')];
  }
  return new Key(parts, 'other');
}

const textArb = fc.string({ unit: fc.constantFrom('A', 'x', "'", '*', '(', ')', ' + ', '2', 't1'), maxLength: 40 });

test('equal texts have equal ids, however cut; the id after a head is the tail’s', () => {
  fc.assert(
    fc.property(textArb, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.boolean(), { minLength: 1 }), fc.nat(), (t, c1, c2, nest, at) => {
      const [a, b] = [rope(t, c1, nest), rope(t, c2, [...nest].reverse())];
      expect(a.text).toBe(t);
      expect(a.id).toBe(b.id);
      const head = t.slice(0, at % (t.length + 1));
      expect(a.idAfter(head)).toBe(rope(t.slice(head.length), c2, nest).id);
      expect(a.prefix(5)).toBe(t.slice(0, 5));
    }),
  );
});

test('different texts have different ids', () => {
  fc.assert(
    fc.property(textArb, textArb, (s, t) => {
      fc.pre(s !== t);
      expect(rope(s, [1, 3], [true]).id).not.toBe(rope(t, [2], [false]).id);
    }),
  );
});

test('a text of 2^40 characters has an id without being spelled out', () => {
  let k = new Key(['x'], 'atom');
  for (let i = 0; i < 40; i++) k = new Key([k, k], 'other');
  expect(k.length).toBe(2 ** 40);
  expect(k.id).toMatch(/^1099511627776\./);
  expect(k.prefix(3)).toBe('xxx');
});
