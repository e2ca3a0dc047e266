/**
 * The last pass over a printed form, after references are expanded: products re-associated to read
 * left to right (2*(X'*A) → 2*X'*A, u.*(v./w) → u.*v./w, a*(-b) → -a*b). Each rewrite is an
 * identity of the input language, so the text still parses back to the same value.
 */
import type { Ast, BinaryOp } from '../syntax/ast.js';
import { bin, negate, tr } from './build.js';

export function normalize(a: Ast): Ast {
  return reassociateAll(a);
}

function reassociateAll(a: Ast): Ast {
  switch (a.kind) {
    case 'num':
    case 'name':
      return a;
    case 'neg':
      return negate(reassociateAll(a.arg));
    case 'transpose':
      return tr(reassociateAll(a.arg));
    case 'call':
      return { ...a, args: a.args.map(reassociateAll) };
    case 'where':
      return { ...a, body: reassociateAll(a.body), bindings: a.bindings.map((b) => ({ ...b, value: reassociateAll(b.value) })) };
    case 'binary':
      return reassociate(a.op, reassociateAll(a.left), reassociateAll(a.right));
  }
}

/** x op (y op' z) → (x op y) op' z where that is an identity; a*(-b) → -(a*b). */
function reassociate(op: BinaryOp, l: Ast, r: Ast): Ast {
  if (op === '*' && r.kind === 'neg') return negate(reassociate('*', l, r.arg));
  const rotates =
    r.kind === 'binary' &&
    ((op === '*' && (r.op === '*' || r.op === '/')) ||
      (op === '.*' && (r.op === '.*' || r.op === './')) ||
      (op === '+' && (r.op === '+' || r.op === '-')));
  if (rotates && r.kind === 'binary') return bin(r.op, reassociate(op, l, r.left), r.right);
  return bin(op, l, r);
}

