/**
 * Differences in the order the input wrote them. The engine keeps one sign of a sum and its
 * negation, so a derivative may hold y - x where its author wrote x - y; signs.ts turns a
 * difference only to take a minus, and never turns a written one. This pass turns the others
 * back: every occurrence of a difference whose negation the input wrote is replaced by the
 * negation of the written one, the minus is carried outward (through odd and linear functions,
 * odd powers, products and transposes; even functions and even powers drop it; a sum subtracts
 * the term), and signs.ts places it again. The turn is kept where no minus is left on the written
 * difference itself and the form gains at most one minus sign over the whole result:
 *   cos(sum(x - y)) by x:            sin(sum(y - x))*vector(1)  →  -sin(sum(x - y))*vector(1)
 *   log(x'*(x - y)) by x:            (y - 2*x)/((y - x)'*x)     →  (2*x - y)/((x - y)'*x)
 *   arcsin(tr(B - S)) by B:          eye/(1 - tr(S - B)^2)^0.5  →  eye/(1 - tr(B - S)^2)^0.5
 * Each rewrite is an identity of the input language.
 */
import type { Ast } from '../syntax/ast.js';
import { keepTyping, mapChildren } from './mexpr.js';
import { negate, startsNegative } from './chains.js';
import { absorbSigns, buildSum, EVEN, isSum, SIGN_KEEPING, sumTerms, textOf } from './signs.js';

/** Extra minus signs a result may gain for its differences to read as written. */
export const MINUS_BUDGET = 1;

/** Picks the parts to turn: the form that stands for a part's negation, or undefined to leave it. */
type Target = (a: Ast, inChain: boolean) => Ast | undefined;

/**
 * `root` (a result's where form, or its body) with its differences in the input's order where
 * the whole stays within `budget` minus signs (default: MINUS_BUDGET more than it has); `temps`
 * are the temporaries' names, `written` the texts of the input's sums (signs.ts, writtenSums).
 */
export function orientWritten(root: Ast, temps: ReadonlySet<string>, written: ReadonlySet<string>, budget = minusSigns(root) + MINUS_BUDGET): Ast {
  if (written.size === 0) return root;
  let out = root;
  for (const [text, asWritten] of turnable(root, written)) {
    const trial = turned(out, (a, inChain) => (!inChain && isSum(a) && textOf(a) === text ? asWritten : undefined), temps, written);
    const stuck = (a: Ast): boolean => isSum(a) && textOf(a) === textOf(asWritten);
    if (trial && minusSigns(trial) <= budget && !negatedSomewhere(trial, stuck) && !newlyNegative(out, trial)) out = trial;
  }
  return out;
}

/**
 * The where form `root` with the temporary `name` defined as `value`, the negation of its
 * definition there, and each use of it negated, the minus carried outward and placed as signs.ts
 * places signs; undefined where a use keeps a minus of its own (exp(-t1), a*-t1).
 */
export function turnTemporary(root: Ast & { kind: 'where' }, name: string, value: Ast, temps: ReadonlySet<string>, written: ReadonlySet<string>): Ast | undefined {
  const redefined: Ast = { ...root, bindings: root.bindings.map((b) => (b.name === name ? { ...b, value } : b)) };
  const isName = (a: Ast): boolean => a.kind === 'name' && a.name === name;
  const trial = turned(redefined, (a) => (isName(a) ? a : undefined), temps, written);
  return trial && !negatedSomewhere(trial, isName) && !newlyNegative(root, trial) ? trial : undefined;
}

/** `root` with the parts `target` picks turned, their minus signs carried out and placed; undefined where none was. */
function turned(root: Ast, target: Target, temps: ReadonlySet<string>, written: ReadonlySet<string>): Ast | undefined {
  const t = turnTo(root, target);
  if (t.ast === root) return undefined;
  return absorbSigns(t.negated ? negate(t.ast) : t.ast, temps, written);
}

/** How many differences of `a` the input wrote the other way round (and not this way). */
export function reversedDifferences(a: Ast, written: ReadonlySet<string>): number {
  return turnable(a, written).size;
}

/** The differences of `root` whose negation, not they themselves, the input wrote: text → written form. */
function turnable(root: Ast, written: ReadonlySet<string>): Map<string, Ast> {
  const found = new Map<string, Ast>();
  const visit = (a: Ast, inChain = false): void => {
    const terms = isSum(a) && !inChain ? sumTerms(a) : undefined;
    if (terms && terms.some((t) => t.positive) && terms.some((t) => !t.positive) && !written.has(textOf(a))) {
      const negation = keepTyping(a, buildSum(terms.map((t) => ({ ast: t.ast, positive: !t.positive }))));
      if (written.has(textOf(negation)) && !found.has(textOf(a))) found.set(textOf(a), negation);
    }
    // The parts of a sum are visited too: (x - y) in a*(x - y) + b.
    mapChildren(a, (c) => (visit(c, isSum(a) && c === (a as Ast & { kind: 'binary' }).left), c));
  };
  visit(root);
  return found;
}

/**
 * Whether the negation of a part that `is` accepts stands anywhere but at the start of a term,
 * where it reads as the term's sign (-(x - y)*c, not exp(-(x - y)) or a*-(x - y)).
 */
function negatedSomewhere(a: Ast, is: (part: Ast) => boolean, lead = true): boolean {
  if (a.kind === 'neg' && is(a.arg)) return !lead;
  if (a.kind === 'binary' && (a.op === '*' || a.op === '/' || a.op === '.*' || a.op === './' || a.op === '+' || a.op === '-'))
    return negatedSomewhere(a.left, is, lead) || negatedSomewhere(a.right, is, false);
  if (a.kind === 'where') return negatedSomewhere(a.body, is) || a.bindings.some((b) => negatedSomewhere(b.value, is));
  let found = false;
  mapChildren(a, (c) => ((found ||= negatedSomewhere(c, is, false)), c));
  return found;
}

/**
 * Whether a temporary's definition starts with a minus in `after` but not in `before` (t1 =
 * -z'*(z - c) is no better than t1 = z'*(c - z): the name would stand for the negation).
 */
function newlyNegative(before: Ast, after: Ast): boolean {
  if (before.kind !== 'where' || after.kind !== 'where') return false;
  return after.bindings.some((b, i) => startsNegative(b.value) && !startsNegative(before.bindings[i]!.value));
}

/** The minus signs of a printed form. */
export function minusSigns(a: Ast): number {
  return textOf(a).split('-').length - 1;
}

/** A form and whether its value is the negation of it. */
interface Signed {
  readonly ast: Ast;
  readonly negated: boolean;
}

/**
 * `a` with every part that `target` picks turned into the form it gives (which stands for the
 * part's negation), the minus carried outward: a part that cannot carry it further (exp(-(x - y)))
 * keeps it. `negated`: the value of `a` is the negation of the form returned.
 */
function turnTo(a: Ast, target: Target, inChain = false): Signed {
  const by = target(a, inChain);
  if (by !== undefined) return { ast: by, negated: true };
  const parts: Signed[] = [];
  const m = mapChildren(a, (c) => {
    // The left side of a sum is the start of its chain of terms (x - y + z), not a sum of its own.
    const r = turnTo(c, target, isSum(a) && c === (a as Ast & { kind: 'binary' }).left);
    parts.push(r);
    return r.ast;
  });
  if (!parts.some((p) => p.negated)) return { ast: m, negated: false };
  return carried(m, parts.map((p) => p.negated)) ?? { ast: mapChildren(m, keepSign(parts)), negated: false };
}

/** A mapper that puts back the minus of each negated part where it stands: exp(-(x - y)). */
function keepSign(parts: readonly Signed[]): (c: Ast) => Ast {
  let k = 0;
  return (c) => (parts[k++]!.negated ? negate(c) : c);
}

/**
 * Form `m`, whose children in order are negated where `neg` says, as one sign and a form without
 * negated parts; undefined where the signs cannot be carried out of it.
 */
function carried(m: Ast, neg: readonly boolean[]): Signed | undefined {
  switch (m.kind) {
    case 'neg':
      return { ast: m.arg, negated: !neg[0] };
    case 'transpose':
      return { ast: m, negated: true };
    case 'call':
      if (m.args.length !== 1) return undefined;
      if (EVEN.has(m.fn)) return { ast: m, negated: false };
      return SIGN_KEEPING.has(m.fn) ? { ast: m, negated: true } : undefined;
    case 'binary': {
      if (m.op === '+' || m.op === '-') {
        // The terms' own signs (sumTerms) with the carried ones: a - (-u) = a + u.
        const flips = sumFlips(m, neg);
        const terms = sumTerms(m)!.map((t, i) => ({ ast: t.ast, positive: t.positive !== flips[i] }));
        if (terms.every((t) => !t.positive)) return { ast: keepTyping(m, buildSum(terms.map((t) => ({ ...t, positive: true })))), negated: true };
        return { ast: keepTyping(m, buildSum(terms)), negated: false };
      }
      if (m.op === '^' || m.op === '.^') {
        // An integer power of a negated base: (-u)^3 = -(u^3), (-u)^2 = u^2, (-A)^-1 = -(A^-1).
        const e = m.right.kind === 'num' && Number.isInteger(m.right.value) ? m.right.value : undefined;
        if (neg[1] || e === undefined) return undefined;
        return { ast: m, negated: e % 2 !== 0 };
      }
      // Products and quotients are linear in each side.
      return { ast: m, negated: neg[0] !== neg[1] };
    }
    default:
      return undefined;
  }
}

/** Which terms of sum `m` (sumTerms order) come from a negated child (`neg`: left, right). */
function sumFlips(m: Ast & { kind: 'binary' }, neg: readonly boolean[]): boolean[] {
  const left = isSum(m.left) ? sumTerms(m.left)!.length : 1;
  return [...new Array<boolean>(left).fill(neg[0]!), neg[1]!];
}
