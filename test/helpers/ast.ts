/** AST helpers for tests: structural comparison without spans, and random ASTs. */
import fc from 'fast-check';
import type { Ast, BinaryOp } from '../../src/syntax/ast.js';
import { NO_SPAN } from '../../src/syntax/ast.js';
import { ELEMENTWISE_FNS, STRUCTURAL_FNS } from '../../src/syntax/ops.js';

/** The tree without source spans (and with negative literals spelled as negation). */
export function strip(a: Ast): unknown {
  switch (a.kind) {
    case 'num':
      return a.value < 0 ? { neg: { num: -a.value } } : { num: a.value };
    case 'name':
      return { name: a.name };
    case 'neg':
      return { neg: strip(a.arg) };
    case 'transpose':
      return { t: strip(a.arg) };
    case 'binary':
      return { op: a.op, l: strip(a.left), r: strip(a.right) };
    case 'call':
      return { fn: a.fn, args: a.args.map(strip) };
  }
}

const OPS: BinaryOp[] = ['+', '-', '*', '/', '.*', './', '^', '.^'];
const FNS = [...ELEMENTWISE_FNS, ...STRUCTURAL_FNS];

/** Random syntax trees (not necessarily well-typed): for grammar tests. */
export const astArb: fc.Arbitrary<Ast> = fc.letrec<{ ast: Ast }>((tie) => ({
  ast: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(
      fc.constantFrom('x', 'A', 'a', 'alpha', 'x1', 'eye').map((name): Ast => ({ kind: 'name', name, span: NO_SPAN })),
      fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(0.5, 1e-3, 2.5e10)).map((value): Ast => ({ kind: 'num', value, text: String(value), span: NO_SPAN })),
    ),
    tie('ast').map((arg): Ast => ({ kind: 'neg', arg, span: NO_SPAN })),
    tie('ast').map((arg): Ast => ({ kind: 'transpose', arg, span: NO_SPAN })),
    fc.tuple(fc.constantFrom(...OPS), tie('ast'), tie('ast')).map(([op, left, right]): Ast => ({ kind: 'binary', op, left, right, span: NO_SPAN, opSpan: NO_SPAN })),
    fc.tuple(fc.constantFrom(...FNS), tie('ast')).map(([fn, arg]): Ast => ({ kind: 'call', fn, args: [arg], span: NO_SPAN, nameSpan: NO_SPAN })),
  ),
})).ast;
