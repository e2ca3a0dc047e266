/**
 * Where a printed minus goes. The engine keeps one sign of a sum and its negation (so that the two
 * share a node), and a product takes the sign of its sum factors; this pass writes that sign into
 * a factor that can carry it with no minus of its own, as a person would:
 * - a difference: -(2 - 6*t)*u → (6*t - 2)*u, -c*(x - y)' → c*(y - x)';
 * - through linear and odd functions and odd powers: -sign(0.5 - b) → sign(b - 0.5),
 *   -sum(vector(3) - y) → sum(y - vector(3));
 * - a sum whose terms all start with a minus: -a - b*(c - d) → b*(d - c) - a;
 * - a subtracted term, where that writes fewer minus signs: a - (1 - k)*t → a + (k - 1)*t;
 * - a difference whose sign is free takes the sign the form has outside, (x - y)/norm2(y - x) →
 *   (x - y)/norm2(x - y), or, where it stands in free places only, the sign its author wrote:
 *   norm2(x - y) by x, order 2, is eye/norm2(x - y) - (x - y)*(x - y)'/norm2(x - y)^3. Its sign is
 *   free inside an even function (norm2, abs, cos, an even power) and where it is a factor of a
 *   product twice (u*u', u'*A*u): both turn together.
 * One difference keeps its order: 1 - u where u is a function's value or its power
 * (vector(1) - tanh(x).^2, 1 - t1 for a temporary), so that the logistic Hessian still reads
 * -X'*diag((vector(1) - t1).*t1)*X. Each rewrite is an identity of the input language.
 */
import { type Ast, type BinaryOp, astChildren } from '../syntax/ast.js';
import { bin } from './build.js';
import { isOnesTensor, keepTyping, mapChildren } from './mexpr.js';
import { toText } from './text.js';
import { negate, startsNegative, typed } from './chains.js';

const MULTIPLICATIVE: ReadonlySet<BinaryOp> = new Set(['*', '/', '.*', './']);

/** Functions f with f(-u) = -f(u). */
export const SIGN_KEEPING: ReadonlySet<string> = new Set(['sum', 'tr', 'diag', 'vec', 'inv', 'sin', 'tan', 'arcsin', 'arctan', 'tanh', 'sign']);

/** Calls that make constants rather than take a function's value. */
const CONSTANT_CALLS: ReadonlySet<string> = new Set(['vector', 'matrix', 'eye', 'rows', 'cols', 'len']);

/**
 * `a` with its minus signs placed; `temps` are the names of temporaries, `written` the texts of the
 * input's sums (writtenSums).
 */
export function absorbSigns(a: Ast, temps: ReadonlySet<string>, written: ReadonlySet<string> = new Set()): Ast {
  return alignFreeSigns(new SignPass(a, temps, written).visit(a));
}

/** The texts of the sums in an input, as its author wrote them. */
export function writtenSums(input: Ast): Set<string> {
  const out = new Set<string>();
  const visit = (a: Ast): void => {
    if (isSum(a)) addWritten(a, out);
    astChildren(a).forEach(visit);
  };
  visit(input);
  return out;
}

/**
 * The input's sums as they stand, and nothing else, each by its sumKey: factors the printer may
 * take out of a sum whatever its length, (A + eye)*x where the input has it (not where it has
 * A*x + x).
 */
export function writtenFactors(input: Ast): Set<string> {
  const out = new Set<string>();
  // Each sum's signed terms, made from its left part's (a chain of n terms costs O(n) for the
  // sums of at most MAX_FACTORED_TERMS terms, and nothing more for the longer ones).
  const termsOf = new Map<Ast, [number, string][] | null>();
  const signedTerms = (a: Ast): [number, string][] | null => {
    if (!isSum(a) || a.kind !== 'binary') return a.kind === 'neg' ? (signedTerms(a.arg)?.map(([s, t]) => [-s, t] as [number, string]) ?? null) : [[1, toText(a)]];
    let ts = termsOf.get(a);
    if (ts !== undefined) return ts;
    const left = signedTerms(a.left);
    const right = left && signedTerms(a.right);
    ts = left && right && left.length + right.length <= MAX_FACTORED_TERMS ? [...left, ...right.map(([s, t]) => [a.op === '-' ? -s : s, t] as [number, string])] : null;
    termsOf.set(a, ts);
    return ts;
  };
  const visit = (a: Ast): void => {
    if (isSum(a)) {
      const ts = signedTerms(a);
      if (ts) out.add(keyOfTerms(ts));
    }
    astChildren(a).forEach(visit);
  };
  visit(input);
  return out;
}

/**
 * Signed terms as a key that does not depend on their order or on the sign of the whole; a term
 * whose text begins with a minus (-2*eye) is its rest with the other sign.
 */
function keyOfTerms(given: readonly [number, string][]): string {
  const terms = given.map(([sign, text]): [number, string] => (text.startsWith('-') ? [-sign, text.slice(1)] : [sign, text]));
  const keyed = (s: number): string => terms.map(([sign, text]) => `${sign * s > 0 ? '+' : '-'}${text}`).sort().join(' ');
  const [plus, minus] = [keyed(1), keyed(-1)];
  return plus < minus ? plus : minus;
}

/**
 * A sum's terms as a key that does not depend on their order or on the sign of the whole:
 * A + 2*eye, 2*eye + A and -A - 2*eye have one key (writtenFactors keys the input's sums so).
 */
export function sumKey(a: Ast): string {
  const terms: [number, string][] = [];
  const collect = (x: Ast, sign: number): void => {
    if (isSum(x) && x.kind === 'binary') {
      collect(x.left, sign);
      collect(x.right, x.op === '-' ? -sign : sign);
    } else if (x.kind === 'neg') collect(x.arg, -sign);
    else terms.push([sign, toText(x)]);
  };
  collect(a, 1);
  return keyOfTerms(terms);
}

/** Sums of more terms are written as they stand only (each part of a + b + c + … is a sum too). */
const MAX_FACTORED_TERMS = 32;

/**
 * The texts a written sum stands for: itself, without a factor its terms share, and as the
 * transpose it is a sum of. The last two only for sums of at most MAX_FACTORED_TERMS terms, so that
 * a chain of n terms costs O(n²) in all, not O(n³).
 */
function addWritten(a: Ast, out: Set<string>): void {
  out.add(toText(a));
  if (termCount(a) > MAX_FACTORED_TERMS) return;
  const cores = [withoutSharedFactor(a, 'left'), withoutSharedFactor(a, 'right')];
  for (const core of cores) if (core) out.add(toText(core));
  for (const form of [a, ...cores]) {
    const plain = form && untransposed(form);
    if (plain) out.add(toText(plain));
  }
}

/** The number of terms of a chain of sums: a + b - c has 3. */
function termCount(a: Ast): number {
  let n = 1;
  for (let x = a; x.kind === 'binary' && isSum(x); x = x.left) n++;
  return n;
}

/**
 * A written sum of products with the factor that all of its terms share on one side taken off,
 * as derivatives hold it: X*x - A*x is written X - A as well (the Jacobian of softmax(X*x - A*x)
 * holds X - A). Undefined where the terms share no such factor.
 */
function withoutSharedFactor(a: Ast, side: 'left' | 'right'): Ast | undefined {
  const terms: { op: '+' | '-'; factors: Ast[] }[] = [];
  const chainOf = (x: Ast): Ast[] => (x.kind === 'binary' && x.op === '*' ? [...chainOf(x.left), ...chainOf(x.right)] : [x]);
  const collect = (x: Ast, op: '+' | '-'): void => {
    if (isSum(x) && x.kind === 'binary') {
      collect(x.left, op);
      collect(x.right, x.op === '-' ? (op === '+' ? '-' : '+') : op);
    } else terms.push({ op, factors: chainOf(x) });
  };
  collect(a, '+');
  const end = (f: Ast[]): Ast => (side === 'right' ? f[f.length - 1]! : f[0]!);
  if (terms.some((t) => t.factors.length < 2)) return undefined;
  const key = toText(end(terms[0]!.factors));
  if (!terms.every((t) => toText(end(t.factors)) === key)) return undefined;
  const rest = terms.map((t) => ({ op: t.op, ast: (side === 'right' ? t.factors.slice(0, -1) : t.factors.slice(1)).reduce((x, y) => bin('*', x, y)) }));
  if (rest[0]!.op === '-') return undefined;
  return rest.slice(1).reduce((acc, t) => bin(t.op, acc, t.ast), rest[0]!.ast);
}

/**
 * A written sum of transposes as the sum it transposes: X' - A' is written (X - A)' as well, so
 * X - A reads as written. Undefined where a term is no transpose.
 */
function untransposed(a: Ast): Ast | undefined {
  if (!isSum(a) || a.kind !== 'binary') return a.kind === 'transpose' ? a.arg : undefined;
  // The last term first: a long sum ((a + b) + c) + … fails there at once.
  const right = untransposed(a.right);
  const left = right && untransposed(a.left);
  return left && right && bin(a.op, left, right);
}

/** The text of a printed part (toText keeps it: parts are immutable). */
export const textOf = toText;

export function isSum(a: Ast): boolean {
  return a.kind === 'binary' && (a.op === '+' || a.op === '-');
}

export interface SignedTerm {
  /** The term without its sign. */
  readonly ast: Ast;
  readonly positive: boolean;
}

class SignPass {
  /** How often each sum occurs in the form, by its text. */
  private readonly sums = new Map<string, number>();
  /** negated(a) by a: every part is negated at most once, however deep the nesting. */
  private readonly memo = new Map<Ast, Ast | null>();

  constructor(
    root: Ast,
    private readonly temps: ReadonlySet<string>,
    private readonly written: ReadonlySet<string>,
  ) {
    countSums(root, false, this.sums);
  }

  visit(a: Ast): Ast {
    if (a.kind === 'binary' && MULTIPLICATIVE.has(a.op)) {
      // The whole product, not its left part: -t*(1 - t)*(1 - 6*t) is one product of three factors.
      const m = mapFactors(a, (f) => this.visit(f));
      if (!startsNegative(m)) return m;
      // A zero needs no sign: -x*matrix(0) is x*matrix(0).
      if (factorsOf(m).some(isZeroConstant)) return negate(m);
      return this.negated(negate(m)) ?? m;
    }
    const m = mapChildren(a, (c) => this.visit(c));
    if (m.kind === 'neg') return this.negated(m.arg) ?? m;
    const terms = sumTerms(m);
    return terms ? this.signedTerms(m, terms) : m;
  }

  /**
   * A sum whose terms all start with a minus gives it to the first term that can take it; a term
   * subtracted from others turns where that writes fewer minus signs: a - (1 - k)*t → a + (k - 1)*t.
   */
  private signedTerms(m: Ast, terms: SignedTerm[]): Ast {
    let out = terms;
    if (out.every((t) => !t.positive)) {
      const k = out.findIndex((t) => this.negated(t.ast) !== undefined);
      if (k < 0) return m;
      out = out.map((t, i) => (i === k ? { ast: this.negated(t.ast)!, positive: true } : t));
    }
    out = out.map((t) => {
      if (t.positive) return t;
      const flipped = this.negated(t.ast);
      return flipped && this.minusSigns(flipped) < this.minusSigns(t.ast) + 1 ? { ast: flipped, positive: true } : t;
    });
    return out.every((t, i) => t === terms[i]) ? m : keepTyping(m, buildSum(out));
  }

  /** -a written with no minus of its own, where a part of a can take the sign; else undefined. */
  private negated(a: Ast): Ast | undefined {
    let n = this.memo.get(a);
    if (n === undefined) this.memo.set(a, (n = this.negatedOnce(a) ?? null));
    return n ?? undefined;
  }


  /** The minus signs of a printed form. */
  private minusSigns(a: Ast): number {
    return textOf(a).split('-').length - 1;
  }

  private negatedOnce(a: Ast): Ast | undefined {
    switch (a.kind) {
      case 'transpose': {
        const arg = this.negated(a.arg);
        return arg && keepTyping(a, { ...a, arg });
      }
      case 'call': {
        const arg = a.args.length === 1 && SIGN_KEEPING.has(a.fn) ? this.negated(a.args[0]!) : undefined;
        return arg && keepTyping(a, { ...a, args: [arg] });
      }
      case 'binary':
        if (MULTIPLICATIVE.has(a.op)) return this.negatedProduct(a);
        if ((a.op === '^' || a.op === '.^') && a.right.kind === 'num' && Math.abs(a.right.value % 2) === 1) {
          const base = this.negated(a.left);
          return base && keepTyping(a, bin(a.op, base, a.right));
        }
        return this.negatedSum(a);
      default:
        return undefined;
    }
  }

  /**
   * -p for a product p, with the minus taken into its longest factor that can take it
   * (t*(1 - t)*(6*t - 1), not t*(t - 1)*(1 - 6*t)); undefined where no factor can.
   */
  private negatedProduct(p: Ast): Ast | undefined {
    let best: { at: Ast; flipped: Ast; size: number } | undefined;
    // One of u*u' turned alone would write (x - y)*(y - x)'.
    const paired = new Set(freeParts(p, isSum));
    for (const at of factorsOf(p)) {
      if (paired.has(at)) continue;
      const flipped = this.negated(at);
      // Turning a difference into one the form already has comes first: (c - y)*t.*(c - y).
      const size = flipped ? textOf(at).length + (this.sums.has(textOf(flipped)) ? 1e9 : 0) : 0;
      if (flipped && (!best || size > best.size)) best = { at, flipped, size };
    }
    return best && mapFactors(p, (f) => (f === best.at ? best.flipped : f));
  }

  /**
   * -(a + b - c - d) as c + d - a - b; -(a + b) as -a - b only where a term can take the sign
   * itself (-(x*(1 - y) + z) → x*(y - 1) - z); undefined for 1 - u that keeps its order, where
   * nothing can take the sign, for a difference the form has elsewhere too (unless its negation
   * is there as often: x - y turned in one place would stand beside y - x), and for a difference
   * as the input wrote it, which a minus does not turn around: -2*A'*(y - A*x) for norm2(y - A*x)^2.
   */
  private negatedSum(s: Ast): Ast | undefined {
    const terms = sumTerms(s);
    if (!terms || this.keepsOrder(terms)) return undefined;
    const flipped = terms.map((x) => ({ ast: x.ast, positive: !x.positive }));
    if (flipped.every((x) => !x.positive)) {
      const i = flipped.findIndex((x) => this.negated(x.ast) !== undefined);
      if (i < 0) return undefined;
      flipped[i] = { ast: this.negated(flipped[i]!.ast)!, positive: true };
    }
    const sum = keepTyping(s, buildSum(flipped));
    if (this.written.has(textOf(s)) && !this.written.has(textOf(sum))) return undefined;
    const [before, after] = [this.sums.get(textOf(s)) ?? 0, this.sums.get(textOf(sum)) ?? 0];
    if (before > 1 && after < before) return undefined;
    // Its subtracted terms then turn as in any other sum (signedTerms).
    return this.signedTerms(sum, sumTerms(sum)!);
  }

  /**
   * 1 - u with u a function's value, a temporary or a power of one, as derivatives of sigmoid and
   * tanh are written: -2*(1 - tanh(b)^2)*tanh(b), not 2*(tanh(b)^2 - 1)*tanh(b). (1 - a with a
   * variable a turns: (a - 1)*x^(a - 2).)
   */
  private keepsOrder(terms: readonly SignedTerm[]): boolean {
    if (terms.length !== 2 || !terms[0]!.positive || terms[1]!.positive || !isOnes(terms[0]!.ast)) return false;
    const valued = (a: Ast): boolean =>
      (a.kind === 'call' && !CONSTANT_CALLS.has(a.fn)) ||
      (a.kind === 'name' && this.temps.has(a.name)) ||
      (a.kind === 'binary' && (a.op === '^' || a.op === '.^') && valued(a.left));
    return valued(terms[1]!.ast);
  }
}

/**
 * Counts the sums of a form by their text (a sum inside a sum is part of it; a sum whose sign is
 * free, norm2(u) or u*u', takes either sign and is not counted).
 */
function countSums(a: Ast, inSum: boolean, counts: Map<string, number>, free = false): void {
  const sum = isSum(a);
  if (sum && !inSum && !free) {
    const text = textOf(a);
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  const freed = new Set(freeParts(a, isSum));
  for (const c of partsOf(a)) countSums(c, sum, counts, freed.has(c));
}

/** Functions f with f(-u) = f(u). */
export const EVEN: ReadonlySet<string> = new Set(['norm1', 'norm2', 'abs', 'cos']);

/** u where a is an even function of it: norm2(u), abs(u), cos(u), u^2, u.^4. */
function evenArgument(a: Ast): Ast | undefined {
  if (a.kind === 'call' && a.args.length === 1 && EVEN.has(a.fn)) return a.args[0];
  const evenPower = a.kind === 'binary' && (a.op === '^' || a.op === '.^') && a.right.kind === 'num' && a.right.value % 2 === 0;
  return evenPower ? a.left : undefined;
}

/**
 * Differences whose sign is free (see freeParts) in the sign the form has elsewhere,
 * (x - y)/norm2(x - y) rather than (x - y)/norm2(y - x); where the form has neither sign outside
 * free places, in the sign of the input (`written`, the texts of its sums: writtenSums), so that
 * norm2(x - y) by x reads in x - y throughout. A result with temporaries is aligned as a whole
 * (its where form).
 */
export function alignFreeSigns(root: Ast, written: ReadonlySet<string> = new Set()): Ast {
  const outside = new Map<string, number>();
  countSums(root, false, outside);
  const forms = new Map<string, Ast>();
  const collect = (a: Ast): void => {
    if (isSum(a) && outside.has(textOf(a))) forms.set(textOf(a), a);
    astChildren(a).forEach(collect);
  };
  collect(root);
  /** The form that difference d takes in a free place, or undefined to keep it. */
  const turned = (d: Ast): Ast | undefined => {
    const text = textOf(d);
    const terms = outside.has(text) ? undefined : sumTerms(d);
    if (!terms || terms.every((t) => t.positive)) return undefined;
    const negation = keepTyping(d, buildSum(terms.map((t) => ({ ast: t.ast, positive: !t.positive }))));
    const other = textOf(negation);
    return forms.get(other) ?? (written.has(other) && !written.has(text) ? negation : undefined);
  };
  const align = (a: Ast): Ast => {
    // Equal differences in one product turn together.
    const turns = new Map(freeParts(a, isSum).map((d) => [textOf(d), turned(d)] as const));
    const visit = (x: Ast): Ast => align((isSum(x) ? turns.get(textOf(x)) : undefined) ?? x);
    // A product's factors (all at once: u*u' is one product of two), else the children.
    return isProduct(a) ? mapFactors(a, visit) : mapChildren(a, visit);
  };
  return align(root);
}

/**
 * Whether every use of the temporary `name` in a result (its where form) is a place where the
 * sign is free (norm2(t1), t1*t1'), so that its definition may take either sign.
 */
export function usedOnlyFree(root: Ast, name: string): boolean {
  const isName = (a: Ast): boolean => a.kind === 'name' && a.name === name;
  const visit = (a: Ast, inFree: boolean): boolean => {
    if (isName(a)) return inFree;
    const free = new Set(freeParts(a, isName));
    return partsOf(a).every((c) => visit(c, free.has(c)));
  };
  return visit(root, false);
}

/**
 * The parts of `a` that `is` accepts and whose sign is free there: an even function's argument
 * (norm2(u), abs(u), cos(u), u^2, u.^4), and a factor of product `a` whose text is a factor there
 * an even number of times (u*u', u'*A*u, u.*u: they turn together).
 */
function freeParts(a: Ast, is: (part: Ast) => boolean): Ast[] {
  const arg = evenArgument(a);
  if (arg) return is(arg) ? [arg] : [];
  if (!isProduct(a)) return [];
  const factors = factorsOf(a).filter(is);
  const counts = new Map<string, number>();
  for (const f of factors) counts.set(textOf(f), (counts.get(textOf(f)) ?? 0) + 1);
  return factors.filter((f) => counts.get(textOf(f))! % 2 === 0);
}

/** A product's factors (factorsOf), else the children. */
function partsOf(a: Ast): readonly Ast[] {
  return isProduct(a) ? factorsOf(a) : astChildren(a);
}

function isProduct(a: Ast): boolean {
  return a.kind === 'binary' && MULTIPLICATIVE.has(a.op);
}

/** 0, vector(0), matrix(0) (sized or not) and a kron with such a factor. */
function isZeroConstant(a: Ast): boolean {
  if (a.kind === 'num') return a.value === 0;
  if (a.kind !== 'call') return false;
  if (a.fn === 'kron') return a.args.some(isZeroConstant);
  return (a.fn === 'vector' || a.fn === 'matrix') && a.args[0]?.kind === 'num' && a.args[0].value === 0;
}

/** 1, vector(1), matrix(1) and vector(1)*vector(1)' (sized or not). */
function isOnes(a: Ast): boolean {
  if (a.kind === 'num') return a.value === 1;
  if (a.kind === 'call') return isOnesTensor(a);
  if (a.kind === 'transpose') return isOnes(a.arg);
  return a.kind === 'binary' && a.op === '*' && isOnes(a.left) && isOnes(a.right);
}

/** The factors of a product, through products, quotients, transposes and minus signs. */
function factorsOf(p: Ast): Ast[] {
  if (p.kind === 'binary' && MULTIPLICATIVE.has(p.op)) return [...factorsOf(p.left), ...factorsOf(p.right)];
  if (p.kind === 'transpose' || p.kind === 'neg') return factorsOf(p.arg);
  return [p];
}

/** p with f applied to each of its factors (factorsOf). */
function mapFactors(p: Ast, f: (factor: Ast) => Ast): Ast {
  if (p.kind === 'binary' && MULTIPLICATIVE.has(p.op)) {
    const [l, r] = [mapFactors(p.left, f), mapFactors(p.right, f)];
    return l === p.left && r === p.right ? p : keepTyping(p, bin(p.op, l, r));
  }
  if (p.kind === 'transpose' || p.kind === 'neg') {
    const arg = mapFactors(p.arg, f);
    return arg === p.arg ? p : keepTyping(p, { ...p, arg });
  }
  return f(p);
}

/** The terms of a printed sum, left to right, or undefined for anything else. */
export function sumTerms(s: Ast): SignedTerm[] | undefined {
  if (s.kind !== 'binary' || (s.op !== '+' && s.op !== '-')) return undefined;
  const terms: SignedTerm[] = [];
  let t: Ast = s;
  while (t.kind === 'binary' && (t.op === '+' || t.op === '-')) {
    terms.unshift({ ast: t.right, positive: t.op === '+' });
    t = t.left;
  }
  terms.unshift(startsNegative(t) ? { ast: negate(t), positive: false } : { ast: t, positive: true });
  return terms;
}

/** A sum of terms (at least one positive): the positive terms first, each group in its order. */
export function buildSum(terms: readonly SignedTerm[]): Ast {
  const positive = terms.filter((x) => x.positive);
  let acc = positive[0]!.ast;
  for (const x of positive.slice(1)) acc = typed('+', acc, x.ast);
  for (const x of terms) if (!x.positive) acc = typed('-', acc, x.ast);
  return acc;
}
