/**
 * Reading printed forms by what they are (their kinds, as mexpr.ts records them): the factors of a
 * product chain, a binary form typed from its operands, a negation that keeps the kinds of its
 * parts. Shared by the last passes over a printed form (normalize.ts, diagonals.ts).
 */
import type { Ast, BinaryOp } from '../syntax/ast.js';
import { bin, negate as negateUntyped } from './build.js';
import { type Kind, FLIP, infoOf, keepTyping, mapChildren, mexpr, productKind } from './mexpr.js';

/**
 * A product's factors, left to right. A part that is a scalar made of non-scalars (x'*B*y inside
 * M*(x'*B*y)) stays one factor, and so does a part of unknown kind.
 */
export function chain(a: Ast): Ast[] {
  if (a.kind !== 'binary' || a.op !== '*') return [a];
  const [k, kl, kr] = [kindOf(a), kindOf(a.left), kindOf(a.right)];
  const whole = k === undefined || kl === undefined || kr === undefined || (k === 'scalar' && (kl !== 'scalar' || kr !== 'scalar'));
  return whole ? [a] : [...chain(a.left), ...chain(a.right)];
}

/** The product of factors, left to right, each keeping its kind (the inverse of chain). */
export const productOf = (fs: readonly Ast[]): Ast => fs.reduce((x, y) => typed('*', x, y));

/** -a as build.ts makes it (the sign on the leftmost factor), each part keeping its kind. */
export function negate(a: Ast): Ast {
  if (a.kind === 'binary' && (a.op === '*' || a.op === '/' || a.op === '.*' || a.op === './'))
    return keepTyping(a, bin(a.op, negate(a.left), a.right));
  return negateUntyped(a);
}

/** What a printed form is, where that is known: numbers are scalars, -x is what x is. */
export function kindOf(a: Ast): Kind | undefined {
  const k = infoOf(a)?.kind;
  if (k !== undefined) return k;
  if (a.kind === 'num') return 'scalar';
  if (a.kind === 'neg') return kindOf(a.arg);
  return undefined;
}

/** l op r, with its kind where the operands' kinds are known (later rotations ask for it). */
export function typed(op: BinaryOp, l: Ast, r: Ast): Ast {
  const a = bin(op, l, r);
  const [kl, kr] = [kindOf(l), kindOf(r)];
  if (kl === undefined || kr === undefined) return a;
  const kind = op === '*' ? productKind(kl, kr) : op === '.*' || op === './' || op === '.^' ? (kl === 'scalar' ? kr : kl) : kl;
  mexpr(a, kind);
  return a;
}

/** A product or quotient whose leftmost factor is negated: -X'*v. */
export function startsNegative(a: Ast): boolean {
  if (a.kind === 'neg') return true;
  if (a.kind === 'num') return a.value < 0;
  if (a.kind === 'binary' && (a.op === '*' || a.op === '/' || a.op === '.*' || a.op === './')) return startsNegative(a.left);
  return false;
}

/** The form with a kind on every product, sum and transpose whose parts have kinds (a pass may build some untyped). */
export function retyped(a: Ast): Ast {
  const b = mapChildren(a, retyped);
  if (kindOf(b) !== undefined) return b;
  if (b.kind === 'binary' && b.op !== '^' && b.op !== '/' && b.op !== '.^') return typed(b.op, b.left, b.right);
  if (b.kind === 'transpose') {
    const k = kindOf(b.arg);
    if (k) mexpr(b, FLIP[k]);
  }
  return b;
}

/** A scalar as a base and a whole exponent: b^2 is b and 2, any other form itself and 1. */
export function scalarPower(a: Ast): { base: Ast; exp: number } {
  return a.kind === 'binary' && a.op === '^' && a.right.kind === 'num' && Number.isInteger(a.right.value) ? { base: a.left, exp: a.right.value } : { base: a, exp: 1 };
}
