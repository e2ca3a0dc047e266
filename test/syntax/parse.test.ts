import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { parse, parseAll, MAX_DEPTH } from '../../src/syntax/parse.js';
import { toText } from '../../src/print/text.js';
import { BINARY_OPS, PREC } from '../../src/syntax/ops.js';
import { RicciError } from '../../src/errors.js';
import { CORPUS } from '../helpers/corpus.js';
import { astArb, strip } from '../helpers/ast.js';
import { astChildren, type Ast } from '../../src/syntax/ast.js';

const shape = (s: string): unknown => strip(parse(s));

describe('grammar', () => {
  test('precedence and associativity follow the operation table', () => {
    expect(shape('a + b*c')).toEqual(shape('a + (b*c)'));
    expect(shape('a - b - c')).toEqual(shape('(a - b) - c'));
    expect(shape('a*b/c')).toEqual(shape('(a*b)/c'));
    expect(shape('a .* b ./ c')).toEqual(shape('(a.*b)./c'));
    expect(shape('-a^2')).toEqual(shape('-(a^2)'));
    expect(shape('-a*b')).toEqual(shape('(-a)*b'));
    expect(shape('a^b^c')).toEqual(shape('a^(b^c)'));
    expect(shape('a^-b')).toEqual(shape('a^(-b)'));
    expect(shape('A^-1')).toEqual({ op: '^', l: { name: 'A' }, r: { neg: { num: 1 } } });
    expect(shape("x'*A*x")).toEqual(shape("((x')*A)*x"));
    expect(shape("A'^2")).toEqual(shape("(A')^2"));
    expect(shape("x.^2'")).toEqual(shape("x.^(2')"));
    expect(shape("-x'")).toEqual(shape("-(x')"));
    // The table says the same: sums loosest, then products, unary minus, powers, postfix.
    expect(BINARY_OPS['+'].prec).toBeLessThan(BINARY_OPS['*'].prec);
    expect(BINARY_OPS['*'].prec).toBeLessThan(PREC.unary);
    expect(PREC.unary).toBeLessThan(BINARY_OPS['^'].prec);
    expect(BINARY_OPS['^'].assoc).toBe('right');
    expect(BINARY_OPS['.^'].prec).toBe(BINARY_OPS['^'].prec);
  });

  test('numbers, including exponents, and 2.*x as 2 .* x', () => {
    expect(shape('1e-3')).toEqual({ num: 0.001 });
    expect(shape('2.5E+4')).toEqual({ num: 25000 });
    expect(shape('.5')).toEqual({ num: 0.5 });
    expect(shape('2.*x')).toEqual({ op: '.*', l: { num: 2 }, r: { name: 'x' } });
    expect(shape('2./x')).toEqual({ op: './', l: { num: 2 }, r: { name: 'x' } });
    expect(shape('x.^2')).toEqual({ op: '.^', l: { name: 'x' }, r: { num: 2 } });
  });

  test('every function call, eye, vector(c) and matrix(c) parse', () => {
    for (const f of ['sin', 'cos', 'tan', 'arcsin', 'arccos', 'arctan', 'exp', 'log', 'tanh', 'abs', 'sign', 'relu', 'sqrt', 'sigmoid', 'softplus', 'sum', 'norm1', 'norm2', 'tr', 'det', 'logdet', 'inv', 'adj', 'diag', 'vector', 'matrix'])
      expect(shape(`${f}(x)`)).toEqual({ fn: f, args: [{ name: 'x' }] });
    expect(shape('eye')).toEqual({ name: 'eye' });
  });

  test('spans point at the source text of every node', () => {
    const text = "x' * A*x + norm2(y)";
    const visit = (a: Ast): void => {
      const s = text.slice(a.span.start, a.span.end);
      if (a.kind === 'name') expect(s).toBe(a.name);
      if (a.kind === 'call') expect(s.startsWith(a.fn + '(') && s.endsWith(')')).toBe(true);
      if (a.kind === 'binary') {
        expect(text.slice(a.opSpan.start, a.opSpan.end)).toBe(a.op);
        visit(a.left);
        visit(a.right);
      }
      if (a.kind === 'transpose' || a.kind === 'neg') visit(a.arg);
      if (a.kind === 'call') a.args.forEach(visit);
    };
    visit(parse(text));
  });

  // A parenthesized node keeps its own span; a node around it spans the parentheses, so that its
  // text is balanced: (B*A)./(B*A) named its inverse inv(B*A./(B*A) in generated code's errors.
  test.each(["(B*A)./(B*A)", "((x + y))'*A", "-(a - b)*x", "(x'*y)^2 where t = (a)"])('%s: every node spans balanced parentheses', (text) => {
    const balanced = (s: string): boolean => {
      let depth = 0;
      for (const ch of s) {
        depth += ch === '(' ? 1 : ch === ')' ? -1 : 0;
        if (depth < 0) return false;
      }
      return depth === 0;
    };
    const visit = (a: Ast): void => {
      expect(balanced(text.slice(a.span.start, a.span.end)), `${a.kind}: ${text.slice(a.span.start, a.span.end)}`).toBe(true);
      for (const c of astChildren(a)) visit(c);
    };
    const root = parse(text);
    visit(root);
    expect(text.slice(root.span.start, root.span.end)).toBe(text);
  });

  test('exactly one parse for every corpus expression and expected form', () => {
    for (const c of CORPUS) {
      expect(parseAll(c.expr)).toHaveLength(1);
      if (c.expect) expect(parseAll(c.expect)).toHaveLength(1);
    }
  });

  test('random trees: printing with the table and parsing back gives the same tree, with one parse', () => {
    fc.assert(
      fc.property(astArb, (ast) => {
        const text = toText(ast);
        const all = parseAll(text);
        expect(all, text).toHaveLength(1);
        expect(strip(all[0]!)).toEqual(strip(ast));
      }),
      { numRuns: 400 },
    );
  });

  test('errors point at the offending token', () => {
    const err = (s: string): RicciError => {
      try {
        parse(s);
      } catch (e) {
        return e as RicciError;
      }
      throw new Error(`no error for ${s}`);
    };
    expect(err('x +* y').span).toEqual({ start: 3, end: 4 });
    expect(err('2x').message).toMatch(/operator is missing/);
    expect(err('(x').message).toMatch(/unmatched '\('/);
    expect(err('x)').span).toEqual({ start: 1, end: 2 });
    expect(err('x # y').span).toEqual({ start: 2, end: 3 });
    expect(err('').message).toMatch(/empty/);
  });

  test('deep nesting and long inputs are refused quickly or parsed, never overflow', () => {
    const t0 = Date.now();
    expect(() => parse('('.repeat(MAX_DEPTH + 1) + 'x' + ')'.repeat(MAX_DEPTH + 1))).toThrow(/nested too deeply/);
    expect(() => parse('-'.repeat(MAX_DEPTH + 5) + 'x')).toThrow(/nested too deeply/);
    expect(() => parse('x+'.repeat(20000) + 'x')).toThrow(/too long/);
    expect(strip(parse('('.repeat(500) + 'x' + ')'.repeat(500)))).toEqual({ name: 'x' });
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
