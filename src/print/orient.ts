/**
 * Differences in the order the input wrote them. The engine keeps one sign of a sum and its
 * negation, so a derivative may hold y - x where its author wrote x - y; signs.ts turns a
 * difference only to take a minus, and never turns a written one. This pass turns the others
 * back: every occurrence of a difference whose negation the input wrote is replaced by the
 * negation of the written one, the minus is carried outward (through odd and linear functions,
 * odd powers, products and transposes; even functions and even powers drop it; a sum subtracts
 * the term), and signs.ts places it again. The turn is kept where no minus is left on the written
 * difference itself and the result's sign cost (its minus signs but those of the differences that
 * read as written, temporaries spelled out) grows by at most one:
 *   cos(sum(x - y)) by x:            sin(sum(y - x))*vector(1)  →  -sin(sum(x - y))*vector(1)
 *   log(x'*(x - y)) by x:            (y - 2*x)/((y - x)'*x)     →  (2*x - y)/((x - y)'*x)
 *   arcsin(tr(B - S)) by B:          eye/(1 - tr(S - B)^2)^0.5  →  eye/(1 - tr(B - S)^2)^0.5
 * Each rewrite is an identity of the input language.
 */
import type { Ast } from '../syntax/ast.js';
import { keepTyping, mapChildren } from './mexpr.js';
import { negate, startsNegative } from './chains.js';
import { absorbSigns, buildSum, EVEN, isSum, SIGN_KEEPING, sumTerms, textOf } from './signs.js';

/** Extra minus signs, outside the differences read as written, that a result may gain for them. */
export const MINUS_BUDGET = 1;

/** Picks the parts to turn: the form that stands for a part's negation, or undefined to leave it. */
type Target = (a: Ast, inChain: boolean) => Ast | undefined;

/**
 * `root` (a result's where form, or its body) with its differences in the input's order where
 * its sign cost (signCost) stays within `budget` (default: MINUS_BUDGET more than it has);
 * `temps` are the temporaries' names, `written` the texts of the input's sums (signs.ts,
 * writtenSums).
 */
export function orientWritten(
  root: Ast,
  temps: ReadonlySet<string>,
  written: ReadonlySet<string>,
  budget = signCost(root, written) + MINUS_BUDGET,
): Ast {
  if (written.size === 0) return root;
  let out = root;
  for (const [text, asWritten] of turnable(root, written, Spelling.of(root, written))) {
    const trial = turned(out, (a, inChain) => (!inChain && isSum(a) && textOf(a) === text ? asWritten : undefined), temps, written);
    const stuck = (a: Ast): boolean => isSum(a) && textOf(a) === textOf(asWritten);
    if (trial && signCost(trial, written) <= budget && !negatedSomewhere(trial, stuck) && !newlyNegative(out, trial)) out = trial;
  }
  return out;
}

/**
 * The minus signs of a printed form outside the differences that read as the input wrote them
 * (with the temporaries they use spelled out): what turning a difference to the input's order
 * may not raise by more than MINUS_BUDGET. -sin(sum(x - y))*vector(1) costs 1, as
 * sin(sum(y - x))*vector(1) does.
 */
export function signCost(a: Ast, written: ReadonlySet<string>): number {
  const spelling = Spelling.of(a, written);
  let asWritten = 0;
  const visit = (x: Ast, inChain = false): void => {
    if (isSum(x) && !inChain) {
      const text = spelling.text(x);
      if (text !== undefined && written.has(text)) asWritten += sumTerms(x)!.filter((t) => !t.positive).length;
    }
    mapChildren(x, (c) => (visit(c, isSum(x) && c === (x as Ast & { kind: 'binary' }).left), c));
  };
  visit(a);
  return minusSigns(a) - asWritten;
}

/** Texts of printed parts with the temporaries they use spelled out: t1 read as its definition. */
export class Spelling {
  private readonly memo = new Map<string, Ast>();
  private readonly lengths = new Map<string, number>();

  /** `limit`: the longest text worth spelling out (the input's longest sum: no longer text is written). */
  constructor(
    private readonly defs: ReadonlyMap<string, Ast>,
    private readonly limit: number,
  ) {}

  /** The spelling of a where form's parts (its definitions), or of a form without temporaries. */
  static of(root: Ast, written: ReadonlySet<string>): Spelling {
    const defs = root.kind === 'where' ? new Map(root.bindings.map((b) => [b.name, b.value])) : new Map<string, Ast>();
    return new Spelling(defs, Math.max(0, ...[...written].map((t) => t.length)));
  }

  /** The text of `a` with every temporary spelled out, or undefined where it is longer than any written text. */
  text(a: Ast): string | undefined {
    if (this.defs.size === 0) return textOf(a);
    // The bound leaves out parentheses a spelled-out temporary may need: twice the limit is ample.
    if (this.length(a) > 2 * this.limit) return undefined;
    return textOf(this.spell(a));
  }

  /** The spelled-out text's length, but for the parentheses a temporary may need around it. */
  private length(a: Ast): number {
    let n = textOf(a).length;
    const visit = (x: Ast): void => {
      if (x.kind === 'name' && this.defs.has(x.name)) n += this.nameLength(x.name) - x.name.length;
      else mapChildren(x, (c) => (visit(c), c));
    };
    visit(a);
    return n;
  }

  private nameLength(name: string): number {
    let n = this.lengths.get(name);
    if (n === undefined) this.lengths.set(name, (n = this.length(this.defs.get(name)!)));
    return n;
  }

  private spell(a: Ast): Ast {
    if (a.kind === 'name' && this.defs.has(a.name)) {
      let s = this.memo.get(a.name);
      if (!s) this.memo.set(a.name, (s = this.spell(this.defs.get(a.name)!)));
      return s;
    }
    return mapChildren(a, (c) => this.spell(c));
  }
}

/** How many differences of `a` the input wrote the other way round (and not this way), read with `spelling`. */
export function reversedDifferences(a: Ast, written: ReadonlySet<string>, spelling = Spelling.of(a, written)): number {
  return turnable(a, written, spelling).size;
}

/**
 * The differences that a result holds both ways round where the input wrote neither (A' - eye in
 * one part, eye - A' in another): of each pair the way that reads first in the result, for
 * orientWritten to turn the other to as it turns a written one.
 */
export function firstOfReversed(root: Ast, written: ReadonlySet<string>): Set<string> {
  const spelling = Spelling.of(root, written);
  const seen = new Map<string, string>();
  const visit = (a: Ast, inChain = false): void => {
    const terms = isSum(a) && !inChain ? sumTerms(a) : undefined;
    if (terms && terms.some((t) => t.positive) && terms.some((t) => !t.positive)) {
      const negation = keepTyping(a, buildSum(terms.map((t) => ({ ast: t.ast, positive: !t.positive }))));
      const [text, other] = [spelling.text(a), spelling.text(negation)];
      if (text !== undefined && other !== undefined && !seen.has(text)) seen.set(text, other);
    }
    mapChildren(a, (c) => (visit(c, isSum(a) && c === (a as Ast & { kind: 'binary' }).left), c));
  };
  visit(root);
  const out = new Set<string>();
  for (const [text, other] of seen)
    if (seen.has(other) && !out.has(other) && !written.has(text) && !written.has(other)) out.add(text);
  return out;
}

/** Whether `a` uses one of `names`. */
export function mentions(a: Ast, names: ReadonlySet<string>): boolean {
  if (a.kind === 'name') return names.has(a.name);
  let found = false;
  mapChildren(a, (c) => ((found ||= mentions(c, names)), c));
  return found;
}

/**
 * The where form `root` with the temporary `name` defined as `value`, the negation of its
 * definition there, and each use of it negated, the minus carried outward and placed as signs.ts
 * places signs; undefined where a use keeps a minus of its own (exp(-t1), a*-t1). With
 * `placeBody` false the body keeps its carried signs unplaced (several turns in a row place them
 * once, with placeBodySigns).
 */
export function turnTemporary(
  root: Ast & { kind: 'where' },
  name: string,
  value: Ast,
  temps: ReadonlySet<string>,
  written: ReadonlySet<string>,
  placeBody = true,
): (Ast & { kind: 'where' }) | undefined {
  const redefined: Ast = { ...root, bindings: root.bindings.map((b) => (b.name === name ? { ...b, value } : b)) };
  const isName = (a: Ast): boolean => a.kind === 'name' && a.name === name;
  const trial = turned(redefined, (a) => (isName(a) ? a : undefined), temps, written, placeBody);
  if (trial?.kind !== 'where' || newlyNegative(root, trial)) return undefined;
  const stuck = placeBody ? negatedSomewhere(trial, isName) : trial.bindings.some((b) => negatedSomewhere(b.value, isName));
  return stuck ? undefined : trial;
}

/** `form` with the signs of its body placed, or undefined where a use of one of `names` keeps a minus of its own. */
export function placeBodySigns(
  form: Ast & { kind: 'where' },
  names: ReadonlySet<string>,
  temps: ReadonlySet<string>,
  written: ReadonlySet<string>,
): Ast | undefined {
  const body = absorbSigns(form.body, temps, written);
  return negatedSomewhere(body, (a) => a.kind === 'name' && names.has(a.name)) ? undefined : { ...form, body };
}

/**
 * `root` with the parts `target` picks turned, their minus signs carried out and placed; undefined
 * where none was. In a where form, signs are placed again in the definitions and the body that
 * changed only, each on its own (as normalize.ts placed them).
 */
function turned(root: Ast, target: Target, temps: ReadonlySet<string>, written: ReadonlySet<string>, placeBody = true): Ast | undefined {
  const t = turnTo(root, target);
  if (t.ast === root) return undefined;
  const whole = t.negated ? negate(t.ast) : t.ast;
  if (root.kind !== 'where' || whole.kind !== 'where') return absorbSigns(whole, temps, written);
  const place = (before: Ast, after: Ast): Ast => (after === before ? after : absorbSigns(after, temps, written));
  const body = placeBody ? place(root.body, whole.body) : whole.body;
  return { ...whole, body, bindings: whole.bindings.map((b, i) => ({ ...b, value: place(root.bindings[i]!.value, b.value) })) };
}

/**
 * The differences of `root` whose negation, not they themselves, the input wrote (read with
 * `spelling`): their printed text → the printed form of their negation.
 */
function turnable(root: Ast, written: ReadonlySet<string>, spelling: Spelling): Map<string, Ast> {
  const found = new Map<string, Ast>();
  const visit = (a: Ast, inChain = false): void => {
    const terms = isSum(a) && !inChain ? sumTerms(a) : undefined;
    if (terms && terms.some((t) => t.positive) && terms.some((t) => !t.positive) && !found.has(textOf(a))) {
      const negation = keepTyping(a, buildSum(terms.map((t) => ({ ast: t.ast, positive: !t.positive }))));
      const [text, other] = [spelling.text(a), spelling.text(negation)];
      if (text !== undefined && other !== undefined && !written.has(text) && written.has(other)) found.set(textOf(a), negation);
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
function minusSigns(a: Ast): number {
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
        if (terms.every((t) => !t.positive)) {
          return { ast: keepTyping(m, buildSum(terms.map((t) => ({ ...t, positive: true })))), negated: true };
        }
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
