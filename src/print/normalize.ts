/**
 * The last pass over a printed form, after references are expanded: products re-associated to read
 * left to right (2*(X'*A) → 2*X'*A, u.*(v./w) → u.*v./w, a*(-b) → -a*b). Each rewrite is an
 * identity of the input language, so the text still parses back to the same value.
 */
import type { Ast, BinaryOp } from '../syntax/ast.js';
import { bin, negate, num, tr } from './build.js';
import { type Kind, infoOf, keepTyping, mexpr, powerOf, productKind } from './mexpr.js';
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
    case 'transpose': {
      const arg = foldAll(a.arg);
      return arg === a.arg ? a : keepTyping(a, { ...a, arg });
    }
    case 'call': {
      // Unchanged nodes stay the same objects (what the printer knows about them stays attached).
      const args = a.args.map(foldAll);
      return args.every((x, i) => x === a.args[i]) ? a : keepTyping(a, { ...a, args });
    }
    case 'where':
      return { ...a, body: foldAll(a.body), bindings: a.bindings.map((b) => ({ ...b, value: foldAll(b.value) })) };
    case 'binary':
      if (a.op === '*') {
        const fs = chain(a);
        if (fs.length > 1) return foldPowers(fs);
        return keepTyping(a, { ...a, left: foldAll(a.left), right: foldAll(a.right) });
      }
      return keepTyping(a, { ...a, left: foldAll(a.left), right: foldAll(a.right) });
  }
}

/**
 * A product's factors, left to right. A part that is a scalar made of non-scalars (x'*B*y inside
 * M*(x'*B*y)) stays one factor, and so does a part of unknown kind.
 */
function chain(a: Ast): Ast[] {
  if (a.kind !== 'binary' || a.op !== '*') return [a];
  const [k, kl, kr] = [kindOf(a), kindOf(a.left), kindOf(a.right)];
  const whole = k === undefined || kl === undefined || kr === undefined || (k === 'scalar' && (kl !== 'scalar' || kr !== 'scalar'));
  return whole ? [a] : [...chain(a.left), ...chain(a.right)];
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
    ((op === '*' && (r.op === '*' || r.op === '/') && productRotates(l, r)) ||
      (op === '.*' && (r.op === '.*' || r.op === './')) ||
      (op === '+' && (r.op === '+' || r.op === '-')));
  if (rotates && r.kind === 'binary') return typed(r.op, reassociate(op, l, r.left), r.right);
  return typed(op, l, r);
}

/**
 * a*(b*c) = (a*b)*c, except where b*c is a scalar made of non-scalars and a is not a scalar:
 * M*(x'*y) scales M, while M*x' is no product at all. Unknown kinds do not rotate.
 */
function productRotates(l: Ast, r: Ast & { kind: 'binary' }): boolean {
  if (r.op === '/') return true;
  const [kl, kr, kb] = [kindOf(l), kindOf(r), kindOf(r.left)];
  if (kl === undefined || kr === undefined || kb === undefined) return false;
  return !(kr === 'scalar' && kl !== 'scalar' && kb !== 'scalar');
}

/** What a printed form is, where that is known: numbers are scalars, -x is what x is. */
function kindOf(a: Ast): Kind | undefined {
  const k = infoOf(a)?.kind;
  if (k !== undefined) return k;
  if (a.kind === 'num') return 'scalar';
  if (a.kind === 'neg') return kindOf(a.arg);
  return undefined;
}

/** l op r, with its kind where the operands' kinds are known (later rotations ask for it). */
function typed(op: BinaryOp, l: Ast, r: Ast): Ast {
  const a = bin(op, l, r);
  const [kl, kr] = [kindOf(l), kindOf(r)];
  if (kl === undefined || kr === undefined) return a;
  const kind = op === '*' ? productKind(kl, kr) : op === '.*' || op === './' || op === '.^' ? (kl === 'scalar' ? kr : kl) : kl;
  mexpr(a, kind);
  return a;
}

/** A product or quotient whose leftmost factor is negated: -X'*v. */
function startsNegative(a: Ast): boolean {
  if (a.kind === 'neg') return true;
  if (a.kind === 'num') return a.value < 0;
  if (a.kind === 'binary' && (a.op === '*' || a.op === '/' || a.op === '.*' || a.op === './')) return startsNegative(a.left);
  return false;
}
