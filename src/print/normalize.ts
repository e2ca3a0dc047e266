/**
 * The last pass over a printed form, after references are expanded: products re-associated to read
 * left to right (2*(X'*A) → 2*X'*A, u.*(v./w) → u.*v./w, a*(-b) → -a*b). Each rewrite is an
 * identity of the input language, so the text still parses back to the same value.
 */
import type { Ast, BinaryOp } from '../syntax/ast.js';
import { bin, negate, num, tr } from './build.js';
import { infoOf, keepTyping, powerOf } from './mexpr.js';
import { toText } from './text.js';

export function normalize(a: Ast): Ast {
  return foldAll(reassociateAll(a));
}

/** Folds powers in every maximal product chain: A'*(A^2)'*A' → (A^4)'. */
function foldAll(a: Ast): Ast {
  switch (a.kind) {
    case 'num':
    case 'name':
      return a;
    case 'neg':
      return keepTyping(a, { ...a, arg: foldAll(a.arg) });
    case 'transpose':
      return keepTyping(a, { ...a, arg: foldAll(a.arg) });
    case 'call':
      return keepTyping(a, { ...a, args: a.args.map(foldAll) });
    case 'where':
      return { ...a, body: foldAll(a.body), bindings: a.bindings.map((b) => ({ ...b, value: foldAll(b.value) })) };
    case 'binary':
      if (a.op === '*') return foldPowers(chain(a));
      return keepTyping(a, { ...a, left: foldAll(a.left), right: foldAll(a.right) });
  }
}

/** A product's factors, left to right. */
function chain(a: Ast): Ast[] {
  return a.kind === 'binary' && a.op === '*' ? [...chain(a.left), ...chain(a.right)] : [a];
}

/**
 * Equal matrix factors next to each other are a power (only factors known to be matrices: x'*A*x*x
 * is a scalar times a vector, not x^2).
 */
function foldPowers(fs: readonly Ast[]): Ast {
  const runs: { base: Ast; count: number; text: string; matrix: boolean }[] = [];
  for (const f of fs) {
    // A power made by the printer: A^k or (A^k)' (its base, spelled out, is in the tree itself).
    const p = powerOf(f);
    const inner = f.kind === 'transpose' ? f.arg : f;
    const powered = p && inner.kind === 'binary' && inner.op === '^' ? inner : undefined;
    const base = powered ? (f.kind === 'transpose' ? tr(powered.left) : powered.left) : foldAll(f);
    const matrix = (p ? p.base.kind : infoOf(f)?.kind) === 'matrix';
    const run = { base, count: powered ? p!.count : 1, text: toText(base), matrix };
    const last = runs[runs.length - 1];
    if (last && last.matrix && matrix && last.text === run.text) last.count += run.count;
    else runs.push(run);
  }
  const out = runs.map((r) => {
    if (r.count === 1) return r.base;
    return r.base.kind === 'transpose' ? tr(bin('^', r.base.arg, num(r.count))) : bin('^', r.base, num(r.count));
  });
  return out.reduce((x, y) => bin('*', x, y));
}

function reassociateAll(a: Ast): Ast {
  switch (a.kind) {
    case 'num':
    case 'name':
      return a;
    case 'neg': {
      const arg = reassociateAll(a.arg);
      return arg === a.arg ? a : negate(arg);
    }
    case 'transpose': {
      const arg = reassociateAll(a.arg);
      return arg === a.arg ? a : keepTyping(a, { ...a, arg });
    }
    case 'call': {
      const args = a.args.map(reassociateAll);
      return args.every((x, i) => x === a.args[i]) ? a : keepTyping(a, { ...a, args });
    }
    case 'where':
      return { ...a, body: reassociateAll(a.body), bindings: a.bindings.map((b) => ({ ...b, value: reassociateAll(b.value) })) };
    case 'binary': {
      const out = reassociate(a.op, reassociateAll(a.left), reassociateAll(a.right));
      // The same value and kind as before (a power stays a power).
      return out.kind === 'binary' && out.op === a.op ? keepTyping(a, out) : out;
    }
  }
}

/** x op (y op' z) → (x op y) op' z where that is an identity; a*(-b) → -(a*b). */
function reassociate(op: BinaryOp, l: Ast, r: Ast): Ast {
  if (op === '*' && r.kind === 'neg') return negate(reassociate('*', l, r.arg));
  // a + (-b) = a - b, a - (-b) = a + b (a term that is spelled out may start with a minus).
  if ((op === '+' || op === '-') && (r.kind === 'neg' || (r.kind === 'binary' && startsNegative(r))))
    return reassociate(op === '+' ? '-' : '+', l, negate(r));
  const rotates =
    r.kind === 'binary' &&
    ((op === '*' && (r.op === '*' || r.op === '/')) ||
      (op === '.*' && (r.op === '.*' || r.op === './')) ||
      (op === '+' && (r.op === '+' || r.op === '-')));
  if (rotates && r.kind === 'binary') return bin(r.op, reassociate(op, l, r.left), r.right);
  return bin(op, l, r);
}


/** A product or quotient whose leftmost factor is negated: -X'*v. */
function startsNegative(a: Ast): boolean {
  if (a.kind === 'neg') return true;
  if (a.kind === 'num') return a.value < 0;
  if (a.kind === 'binary' && (a.op === '*' || a.op === '/' || a.op === '.*' || a.op === './')) return startsNegative(a.left);
  return false;
}
