/**
 * Diagonal matrices merged in a printed form, after references are expanded: diag(u)*diag(v) is
 * diag(u.*v), diag(u)*A*x is u.*(A*x), diag(u)*vector(1) is u, the diagonal terms of a sum one
 * diag, and a factor that every term of a sum has on one side taken out (A'*diag(u)*A -
 * 2*A'*diag(v)*A is A'*diag(u - 2*v)*A, diag(s)*W - s*s'*W is (diag(s) - s*s')*W). Each rewrite
 * is an identity of the input language.
 */
import type { Ast } from '../syntax/ast.js';
import { call, name, num, tr } from './build.js';
import { FLIP, constantDims, constantOf, infoOf, isOneVector, mapChildren, mexpr, primes } from './mexpr.js';
import { toText } from './text.js';
import { chain, kindOf, negate, productOf, scalarPower, startsNegative, typed } from './chains.js';
import { isSum, sumKey } from './signs.js';
import { divide, expand, multipleOf, termOf, transposedMonomial, type Monomial } from './division.js';

/**
 * Products and sums of diagonal matrices as one diagonal matrix: diag(u)*diag(v) = diag(u.*v)
 * next to each other in a product, and the diagonal terms of a sum, with their scalar factors and
 * signs, as diag of the sum of their vectors. Bottom up, so diag(a)*(diag(b) + diag(c)*diag(d))
 * becomes diag(a.*(b + c.*d)). Unchanged parts stay the same objects.
 */
export function mergeDiagonals(a: Ast): Ast {
  const b = mapChildren(a, mergeDiagonals);
  if (b.kind === 'transpose') {
    // diag(u)' = diag(u), and (P*diag(u)*Q)' = Q'*diag(u)*P' where a merge has made that product
    // (so that it can merge on); a sign stays outside.
    const inner = b.arg.kind === 'neg' ? b.arg.arg : b.arg;
    if (diagonalOf(inner) !== undefined || FACTORED.has(inner)) {
      const t = diagonalOf(inner) !== undefined ? inner : transposeProduct(inner);
      return b.arg.kind === 'neg' ? negate(t) : t;
    }
  }
  if (b.kind === 'binary' && b.op === '*') return quadraticForm(mergeProduct(b));
  if (b.kind === 'binary' && (b.op === '+' || b.op === '-')) {
    const kind = kindOf(b);
    // Sums of vectors: their like terms collected (x*a + 2*x is (a + 2)*x).
    if (kind === 'vector' || kind === 'row') return mergeVectorSum(b, kind);
    return mergeSum(b);
  }
  return b;
}

/**
 * u'*S*u, a scalar, is u'*S'*u: read with S transposed term by term where that prints fewer
 * primes, or as many and reads as the input writes it. Factoring makes such forms after the
 * printer has oriented them: x + (A + B)'*x is ((A + B)' + eye)*x, and x'*((A + B)' + eye)*x
 * reads x'*(A + B + eye)*x.
 */
function quadraticForm(a: Ast): Ast {
  if (a.kind !== 'binary' || a.op !== '*' || kindOf(a) !== 'scalar' || kindOf(a.left) === 'scalar') return a;
  const fs = [...chain(a.left), ...chain(a.right)];
  if (fs.length !== 3) return a;
  const [u, s, v] = fs as [Ast, Ast, Ast];
  if (u.kind !== 'transpose' || kindOf(v) !== 'vector' || toText(u.arg) !== toText(v)) return a;
  const t = transposedSum(s);
  if (!t) return a;
  // As many primes: the way the input writes the sum (x'*(A + B')*x, not x'*(A' + B)*x).
  const [pt, ps] = [primes(t), primes(s)];
  const better = pt < ps || (pt === ps && inputSums.has(sumKey(t)) && !inputSums.has(sumKey(s)));
  return better ? productOf([u, t, v]) : a;
}

/**
 * Transposed sums of plain matrices (names, their transposes, products of them, numbers and
 * scalars) written term by term, as one writes them: (A + 2*eye)' is A' + 2*eye, (A*X + eye)' is
 * X'*A' + eye. A sum with any other term stays transposed whole.
 */
export function plainTransposedSums(a: Ast): Ast {
  const m = mapChildren(a, plainTransposedSums);
  if (m.kind !== 'transpose' || !isSumOf(m.arg, 'matrix')) return m;
  const plain = (f: Ast): boolean =>
    f.kind === 'name' || f.kind === 'num' || kindOf(f) === 'scalar' || (f.kind === 'transpose' && f.arg.kind === 'name') || (f.kind === 'binary' && f.op === '*' && plain(f.left) && plain(f.right));
  const terms = termsOf(m.arg).map((t) => ({ t, chain: unsignedChain(t.ast) }));
  if (!terms.every(({ chain }) => chain.factors.every(plain))) return m;
  // Only a sum with the identity in it: (A - X)' stays the difference the input wrote.
  if (!terms.some(({ chain }) => chain.factors.flatMap(productFactors).some(isEye))) return m;
  // Transposed, a product reverses; numbers, scalars and eye stay as they are.
  const flip = (f: Ast): Ast => {
    if (f.kind === 'transpose') return f.arg;
    if (f.kind === 'num' || kindOf(f) === 'scalar' || isEye(f)) return f;
    return mexpr(tr(f), kindOf(f) ?? 'matrix').ast;
  };
  return sumOf(terms.map(({ t, chain }) => ({ sign: chain.negative ? -t.sign : t.sign, ast: productOf(scalarsFirst(chain.factors.flatMap(productFactors).reverse().map(flip))) })));
}

/** eye, the name. */
const isEye = (f: Ast): boolean => f.kind === 'name' && f.name === 'eye';

/**
 * The factors of a printed product whatever their kinds (a printed definition's products may
 * carry no kind of their own; their factors do): 2*b*eye is 2, b and eye.
 */
function productFactors(f: Ast): Ast[] {
  return f.kind === 'binary' && f.op === '*' ? [...productFactors(f.left), ...productFactors(f.right)] : [f];
}

/** A sum of matrices transposed term by term: (A + B)' + eye is A + B + eye. */
function transposedSum(s: Ast): Ast | undefined {
  const terms = chainTerms(tr(s));
  return terms && sumOf(terms.map((x) => ({ sign: x.sign, ast: productOf(x.factors) })));
}

/**
 * The sum as a product with a sum of matrices that the input writes (or its transpose), where
 * that divides it with no remainder (division.ts): b^2*eye + X'*(2*b*X + X*X'*X) is (X'*X +
 * b*eye)^2, S*(2*x + S*x - y) + x - y is (S + eye)*((S + eye)*x - y). A matrix sum is divided
 * on either side, a sum of vectors from the left, of rows from the right. Undefined where none
 * divides it, and where the product is much longer than the sum.
 */
function dividedByWritten(terms: readonly Term[], kind: 'matrix' | 'vector' | 'row'): Ast | undefined {
  if (writtenForms.length === 0 || terms.length < 2 || dividing > MAX_DIVIDING) return undefined;
  const whole = sumOf(terms);
  const e = expand(whole);
  if (!e || e.length < 2) return undefined;
  // The sum as it stands, else with its temporaries spelled out: (b*eye - A')*t1 + (1 + b)*x - A*x
  // where t1 = (b + 1)*x - A*x is ((b + 1)*eye - A')*t1.
  const names = namesIn(whole).filter((n) => definitionOf(n) !== undefined);
  // The same sum comes back many times (the index printer asks for the matrix form of each part):
  // remembered per set of written sums, by its text and the definitions of the names it uses.
  let memo = DIVIDED.get(writtenForms);
  if (!memo) DIVIDED.set(writtenForms, (memo = new Map()));
  const key = `${kind}|${dividing}|${toText(whole)}|${names.map((n) => `${n}=${toText(definitionOf(n)!)}`).join(';')}`;
  const seen = memo.get(key);
  if (seen !== undefined) return seen ?? undefined;
  const out = dividedByWrittenOnce(whole, e, names, kind);
  memo.set(key, out ?? null);
  return out;
}

function dividedByWrittenOnce(whole: Ast, e: Monomial[], names: readonly string[], kind: 'matrix' | 'vector' | 'row'): Ast | undefined {
  const spelled = names.length > 0 ? expand(whole, definitionOf) : undefined;
  const sides = kind === 'matrix' ? (['right', 'left'] as const) : kind === 'vector' ? (['left'] as const) : (['right'] as const);
  const key = sumKey(whole);
  const divisors = preparedDivisors(writtenForms);
  // A quotient that is a written sum (W or W', times a number) reads as written: (X'*X + 2*eye)^2;
  // one that is a temporary, as its name.
  const known = [...divisors, ...names.flatMap((n) => {
    const wm = expand(name(n), definitionOf);
    return wm ? [{ w: mexpr(name(n), kind).ast, wm }] : [];
  })];
  dividing++;
  try {
    for (const { w, wm } of divisors) {
      if (sumKey(w) === key) continue;
      for (const side of sides) {
        const plain = divide(e, wm, side);
        const q = plain ?? (spelled && divide(spelled, wm, side));
        // A number times W alone is for the other rules (2*A + 2*eye is 2*(A + eye) already).
        if (!q || q.every((m) => m.chain.length === 0)) continue;
        const same = known.map((f) => ({ f, r: multipleOf(q, f.wm) })).find((x) => x.r !== undefined);
        // Temporaries spelled out: only where the quotient is a name again (not their text in full).
        if (!plain && !same) continue;
        const quotient = same ? scaledBy(same.r!, same.f.w) : sumOfMonomials(q, kind);
        const product = mergeProduct(typed('*', ...((side === 'right' ? [quotient, w] : [w, quotient]) as [Ast, Ast])) as Ast & { kind: 'binary' });
        if (toText(product).length <= 1.5 * toText(whole).length) return product;
      }
    }
  } finally {
    dividing--;
  }
  return undefined;
}

/**
 * Of a quotient by a written sum and a common factor taken out, the shorter (the quotient where
 * they tie): a quotient is multiplied out into monomials, and where the terms share a factor
 * already, (J'*diag(u)*J + P)*diag(v)*W reads better than J's terms spread over every monomial.
 */
function shorter(divided: Ast | undefined, factored: Ast | undefined): Ast | undefined {
  if (!divided || !factored) return divided ?? factored;
  return toText(factored).length < toText(divided).length ? factored : divided;
}

/** The names a form uses. */
function namesIn(a: Ast): string[] {
  const out = new Set<string>();
  // (A printed form shares sub-forms: each is visited once.)
  const seen = new Set<Ast>();
  const visit = (x: Ast): Ast => {
    if (seen.has(x)) return x;
    seen.add(x);
    if (x.kind === 'name') out.add(x.name);
    return mapChildren(x, visit);
  };
  visit(a);
  return [...out];
}

/** How deep divisions may nest (a quotient is merged as any sum is, and may divide again). */
const MAX_DIVIDING = 3;
let dividing = 0;

/** Each written sum, and its transpose, in reading order (X'*X + 2*eye, not 2*eye + X'*X), as forms and monomials. */
const PREPARED = new WeakMap<readonly Ast[], { w: Ast; wm: Monomial[] }[]>();
function preparedDivisors(forms: readonly Ast[]): { w: Ast; wm: Monomial[] }[] {
  let out = PREPARED.get(forms);
  if (out) return out;
  // Made with no division of their own (ordering a sum merges its parts).
  const outer = writtenForms;
  writtenForms = [];
  try {
    out = [];
    for (const written of forms) {
      const plain = expand(written);
      if (!plain) continue;
      const ordered = (w: Ast): Ast => sumOf(inReadingOrder(termsOf(w)));
      // W' as its terms transposed (from the monomials where a part of the form has no kind).
      const flipped = transposedSum(written);
      const turned = plain.map(transposedMonomial);
      out.push({ w: ordered(written), wm: plain });
      out.push({ w: flipped && expand(flipped)?.length === turned.length ? ordered(flipped) : sumOfMonomials(turned, 'matrix', false), wm: turned });
    }
  } finally {
    writtenForms = outer;
  }
  PREPARED.set(forms, out);
  return out;
}

/** r*f, its sign outside: -X, 2*(A + eye). */
function scaledBy(r: number, f: Ast): Ast {
  const scaled = Math.abs(r) === 1 ? f : typed('*', num(Math.abs(r)), f);
  return r < 0 ? negate(scaled) : scaled;
}

/**
 * Monomials as a printed sum, merged as any sum is where `merge`, positive terms first, with a
 * number that all share in front: the first term's where it divides every other, else the one
 * most terms have where the sum that leaves merges into fewer terms or into a sum the input
 * writes (2*S*x - x - 2*y is 2*((S - 0.5*eye)*x - y) where the input has (S - 0.5*eye)*x).
 */
function sumOfMonomials(ms: readonly Monomial[], kind: 'matrix' | 'vector' | 'row', merge = true): Ast {
  const c = Math.abs(ms[0]!.coef);
  const whole = c !== 1 && ms.every((m) => Number.isInteger(m.coef / c)) ? c : 1;
  const plain = monomialSum(ms, kind, merge, whole);
  const counts = new Map<number, number>();
  for (const m of ms) counts.set(Math.abs(m.coef), (counts.get(Math.abs(m.coef)) ?? 0) + 1);
  const most = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  if (!merge || most === whole || most === 1) return plain.ast;
  const other = monomialSum(ms, kind, merge, most);
  const fewer = termsOf(other.inner, kind).length < termsOf(plain.inner, kind).length;
  return fewer || (inputSums.has(sumKey(other.inner)) && !inputSums.has(sumKey(plain.inner))) ? other.ast : plain.ast;
}

/** The sum of ms/common, merged where `merge` (`inner`), and common times it, its sign outside (`ast`). */
function monomialSum(ms: readonly Monomial[], kind: 'matrix' | 'vector' | 'row', merge: boolean, common: number): { ast: Ast; inner: Ast } {
  const terms = ms.map((m) => termOf({ ...m, coef: m.coef / common }, kind));
  const flip = terms.every((t) => t.sign < 0) ? -1 : 1;
  const signed = terms.map((t) => ({ sign: t.sign * flip, ast: t.ast }));
  const ordered = [...signed.filter((t) => t.sign > 0), ...signed.filter((t) => t.sign < 0)];
  const sum = sumOf(kind === 'matrix' ? inReadingOrder(ordered) : ordered);
  const inner = sum.kind !== 'binary' || !merge ? sum : kind === 'matrix' ? mergeSum(sum, true) : mergeVectorSum(sum, kind);
  const scaled = common === 1 ? inner : typed('*', num(common), inner);
  return { ast: flip < 0 ? negate(scaled) : scaled, inner };
}

/** Whether a form is a sum (or difference) of the given kind. */
const isSumOf = (a: Ast | undefined, kind: 'matrix' | 'vector' | 'row'): a is Ast & { kind: 'binary' } => a !== undefined && isSum(a) && kindOf(a) === kind;

/** The vector u of diag(u) or diag(u)' as the printer makes it (diag of a column vector; diag of a matrix is a vector). */
function diagonalOf(a: Ast): Ast | undefined {
  if (a.kind === 'transpose') return diagonalOf(a.arg);
  if (a.kind !== 'call' || a.fn !== 'diag' || a.args.length !== 1 || infoOf(a)?.kind !== 'matrix') return undefined;
  return kindOf(a.args[0]!) === 'vector' ? a.args[0] : undefined;
}

const diagonal = (u: Ast): Ast => mexpr(call('diag', u), 'matrix', true).ast;

/** A form built from vectors, typed as the vector it is (so that later merges see its kind). */
const asVector = (v: Ast): Ast => (infoOf(v) ? v : mexpr(v, 'vector').ast);

/**
 * The factors of a product chain without their signs, and whether an odd number had one:
 * D1*(-D2) = -(D1*D2); a negated product's factors join the chain: -(A'*D1)*D2 is -A'*D1*D2.
 */
function unsignedChain(a: Ast): { factors: Ast[]; negative: boolean } {
  let negative = false;
  const factors: Ast[] = [];
  const add = (f: Ast): void => {
    if (f.kind !== 'neg') {
      factors.push(f);
      return;
    }
    negative = !negative;
    chain(f.arg).forEach(add);
  };
  chain(a).forEach(add);
  return { factors, negative };
}

/** diag(a.*b) for the adjacent factors diag(a)*diag(b) of a product chain. */
function mergeProduct(a: Ast & { kind: 'binary' }): Ast {
  const { factors: chained, negative: signed } = unsignedChain(a);
  let negative = signed;
  // A sum of scalars that factoring left between matrices goes in front: X*(1 + a)*A is (1 + a)*X*A.
  const lead = chained.findIndex((f) => kindOf(f) !== 'scalar');
  const late = lead < 0 ? [] : chained.filter((f, i) => i > lead && kindOf(f) === 'scalar' && f.kind === 'binary' && (f.op === '+' || f.op === '-'));
  const fs = late.length === 0 ? chained : [...chained.slice(0, lead), ...late, ...chained.slice(lead).filter((f) => !late.includes(f))];
  // A sum of diagonals and eye next to a diagonal is one diagonal too: diag(u)*(diag(v) - eye).
  const asDiagonal = (f: Ast): { u: Ast; negative: boolean } | undefined => {
    const u = diagonalOf(f);
    if (u !== undefined) return { u, negative: false };
    if (f.kind !== 'binary' || (f.op !== '+' && f.op !== '-')) return undefined;
    const m = mergeSum(f, true);
    const v = diagonalOf(m.kind === 'neg' ? m.arg : m);
    return v && { u: v, negative: m.kind === 'neg' };
  };
  const out: Ast[] = [];
  let merged = false;
  for (const f of fs) {
    const last = out[out.length - 1];
    const near = last !== undefined && (diagonalOf(f) !== undefined || diagonalOf(last) !== undefined);
    const l = near ? asDiagonal(last) : undefined;
    const r = l ? asDiagonal(f) : undefined;
    if (l && r) {
      out[out.length - 1] = diagonal(asVector(typed('.*', l.u, r.u)));
      negative = negative !== (l.negative !== r.negative);
      merged = true;
    } else out.push(f);
  }
  const absorbed = absorbOnes(out);
  if (absorbed) {
    out.splice(0, out.length, ...absorbed.factors);
    negative = negative !== absorbed.negative;
    merged = true;
  }
  const pulled = pullNumbers(out);
  if (pulled) {
    out.splice(0, out.length, ...pulled);
    merged = true;
  }
  // A diagonal matrix in front of a product that is a vector scales it: diag(u)*A*x is u.*(A*x).
  const u = out.length > 1 && kindOf(a) === 'vector' ? diagonalOf(out[0]!) : undefined;
  if (!merged && late.length === 0 && u === undefined) return a;
  const product = u !== undefined ? typed('.*', u, productOf(out.slice(1))) : productOf(out);
  return negative ? negate(product) : product;
}

/**
 * The factors of a chain with the whole number > 1 that every term of a sum factor begins with
 * taken out in front: (A' + 2*eye)*D*(2*A + 4*eye) is 2*(A' + 2*eye)*D*(A + 2*eye). Undefined
 * where no sum factor has one.
 */
function pullNumbers(fs: readonly Ast[]): Ast[] | undefined {
  let pulled = 1;
  const out = fs.map((f) => {
    if (!isSumOf(f, 'matrix')) return f;
    const terms = termsOf(f).map((t) => {
      const { factors, negative } = unsignedChain(t.ast);
      const { c, rest } = numberOf(factors);
      // A negative number's sign goes to the term: -2*A is 2*A with the sign -1.
      return { sign: (negative ? -t.sign : t.sign) * Math.sign(c), c: Math.abs(c), rest };
    });
    const g = terms.reduce((acc, t) => gcd(acc, t.c), 0);
    if (!(g > 1) || !terms.every((t) => Number.isInteger(t.c))) return f;
    pulled *= g;
    return sumOf(terms.map((t) => ({ sign: t.sign, ast: productOf([...(t.c === g ? [] : [num(t.c / g)]), ...t.rest]) })));
  });
  if (pulled === 1) return undefined;
  const lead = out[0]!;
  return lead.kind === 'num' ? [num(lead.value * pulled), ...out.slice(1)] : [num(pulled), ...out];
}

/** The numbers of a product's factors multiplied (1 where none), and its other factors: A'*2 is 2 and A'. */
function numberOf(factors: readonly Ast[]): { c: number; rest: Ast[] } {
  const rest = factors.filter((f) => f.kind !== 'num');
  if (rest.length === 0) return { c: 1, rest: [...factors] };
  return { c: factors.reduce((p, f) => (f.kind === 'num' ? p * f.value : p), 1), rest };
}

/** The greatest common divisor of two whole numbers (0 with n is n); NaN where one is not whole. */
function gcd(a: number, b: number): number {
  if (!Number.isInteger(a) || !Number.isInteger(b)) return NaN;
  let [x, y] = [Math.abs(a), Math.abs(b)];
  while (y > 0) [x, y] = [y, x % y];
  return x;
}

/** vector(1), or its transpose with `row`, as the printer writes it. */
const isOnes = (a: Ast, row: boolean): boolean => (row ? a.kind === 'transpose' && isOneVector(a.arg) : isOneVector(a));

/**
 * A diagonal matrix next to a sum in a product chain, multiplied into the sum where a term of it
 * begins (ends) with vector(1) (vector(1)'), which it turns into u (u'): diag(u)*vector(1) = u. The
 * sum is then merged again, so that diag(s)*(W - vector(1)*s'*W), the Jacobian of softmax(W*x), is
 * (diag(s) - s*s')*W. Kept where that is no longer; the factors of the chain, or undefined.
 */
function absorbOnes(fs: readonly Ast[]): { factors: Ast[]; negative: boolean } | undefined {
  for (let i = 0; i + 1 < fs.length; i++) {
    for (const [d, s, left] of [[fs[i]!, fs[i + 1]!, true], [fs[i + 1]!, fs[i]!, false]] as const) {
      const u = diagonalOf(d);
      const terms = u === undefined ? undefined : chainTerms(s);
      if (u === undefined || terms === undefined) continue;
      const at = (f: readonly Ast[]): number => (left ? f.findIndex((x) => kindOf(x) !== 'scalar') : f.length - 1);
      const hit = (f: readonly Ast[]): boolean => at(f) >= 0 && isOnes(f[at(f)]!, !left);
      if (!terms.some((t) => hit(t.factors))) continue;
      const hits = terms.filter((t) => hit(t.factors)).map((t) => {
        const f = [...t.factors];
        f[at(f)] = left ? u : mexpr(tr(u), 'row').ast;
        return { sign: t.sign, ast: mergeDiagonals(productOf(f)) };
      });
      // The other terms stay one sum, times the diagonal: diag(u)*(A' + X) next to u*v'*(A' + X).
      const rest = terms.filter((t) => !hit(t.factors));
      const sign = rest.every((t) => t.sign < 0) ? -1 : 1;
      const group = (): { sign: number; factors: Ast[] } => ({ sign, factors: [sumOf(rest.map((t) => ({ sign: sign * t.sign, ast: productOf(t.factors) })))] });
      const others = rest.length === 0 ? [] : [scaleBy(d, left, rest.length === 1 ? rest[0]! : group())];
      const distributed = sumOf(hit(terms[0]!.factors) ? [...hits, ...others] : [...others, ...hits]);
      const m = distributed.kind === 'binary' ? mergeSum(distributed) : distributed;
      if (toText(m).length > toText(productOf(left ? [d, s] : [s, d])).length) continue;
      const { factors, negative } = unsignedChain(m);
      return { factors: [...fs.slice(0, i), ...factors, ...fs.slice(i + 2)], negative };
    }
  }
  return undefined;
}

/** The terms of a sum of matrices, or of a transposed one (each term's chain transposed), with their signs and factors. */
function chainTerms(s: Ast): { sign: number; factors: Ast[] }[] | undefined {
  const transposed = s.kind === 'transpose';
  const sum = transposed ? s.arg : s;
  if (!isSumOf(sum, 'matrix')) return undefined;
  return termsOf(sum).map((t) => {
    const { factors, negative } = unsignedChain(t.ast);
    // Transposed, the chain reverses; its scalars stay in front: (2*X*u*v')' is 2*v*u'*X'.
    const sign = negative ? -t.sign : t.sign;
    if (!transposed) return { sign, factors };
    return { sign, factors: scalarsFirst([...factors].reverse().map(transposeFactor)) };
  });
}

/** The factors of a product with its scalars moved in front, in their order: A'*2 is 2*A'. */
const scalarsFirst = (fs: readonly Ast[]): Ast[] => [...fs.filter((f) => kindOf(f) === 'scalar'), ...fs.filter((f) => kindOf(f) !== 'scalar')];

/** d*T (or T*d) for a term T as its factors: d after T's scalars, and d alone where T is eye. */
function scaleBy(d: Ast, left: boolean, t: { sign: number; factors: readonly Ast[] }): { sign: number; ast: Ast } {
  const f = [...t.factors];
  const k = f.findIndex((x) => kindOf(x) !== 'scalar');
  if (k >= 0 && f.length === k + 1 && f[k]!.kind === 'name' && f[k]!.name === 'eye') f[k] = d;
  else if (left) f.splice(k < 0 ? f.length : k, 0, d);
  else f.push(d);
  return { sign: t.sign, ast: mergeDiagonals(productOf(f)) };
}

/**
 * The vector v with a = diag(v), where a is a diagonal matrix times scalars, or a sum that merges
 * into one: -2*diag(u)/c → -2*u/c; with `eye`, also 2*eye → 2*vector(1).
 */
function scaledDiagonalOf(a: Ast, eye = false): Ast | undefined {
  const u = diagonalOf(a);
  if (u) return u;
  // eye = diag(vector(1)) (its size is the other terms').
  if (eye && a.kind === 'name' && a.name === 'eye') return mexpr(call('vector', num(1)), 'vector').ast;
  if (a.kind === 'neg') {
    const v = scaledDiagonalOf(a.arg, eye);
    return v && asVector(negate(v));
  }
  if (a.kind !== 'binary') return undefined;
  // A sum that is one diagonal where eye is one: 4*(diag(u) + eye) is 4*diag(u + vector(1)).
  if (a.op === '+' || a.op === '-') {
    const m = mergeSum(a, eye);
    return m === a ? undefined : scaledDiagonalOf(m, eye);
  }
  if (a.op === '*' && kindOf(a.left) === 'scalar') {
    const v = scaledDiagonalOf(a.right, eye);
    return v && asVector(vectorTimes(a.left, v));
  }
  if ((a.op === '*' || a.op === '/') && kindOf(a.right) === 'scalar') {
    const v = scaledDiagonalOf(a.left, eye);
    return v && asVector(a.op === '*' ? vectorTimes(a.right, v) : typed('/', v, a.right));
  }
  return undefined;
}

/** c*v, where a number times vector(k) is vector(c*k): 2*eye - diag(u) reads vector(2) - u, as 2*I - diag(u) does elsewhere. */
function vectorTimes(c: Ast, v: Ast): Ast {
  if (c.kind !== 'num' || v.kind !== 'call' || v.fn !== 'vector' || v.args.length !== 1 || v.args[0]!.kind !== 'num') return typed('*', c, v);
  const value = c.value * v.args[0]!.value;
  const dims = constantDims(v);
  return (dims ? constantOf(value, dims) : mexpr(call('vector', num(value)), 'vector')).ast;
}

interface Term {
  readonly sign: number;
  readonly ast: Ast;
}

/** The terms of a sum of matrices (or of vectors or rows: `kind`), with their signs (-X is X with sign -1). */
function termsOf(a: Ast, kind: 'matrix' | 'vector' | 'row' = 'matrix'): Term[] {
  const terms: Term[] = [];
  const collect = (x: Ast, sign: number): void => {
    if (x.kind === 'binary' && (x.op === '+' || x.op === '-') && kindOf(x) === kind) {
      collect(x.left, sign);
      collect(x.right, x.op === '-' ? -sign : sign);
    } else if (x.kind === 'neg') collect(x.arg, -sign);
    else terms.push({ sign, ast: x });
  };
  collect(a, 1);
  return terms;
}

function sumOf(terms: readonly Term[]): Ast {
  let acc: Ast | undefined;
  for (const t of terms) acc = acc === undefined ? (t.sign < 0 ? negate(t.ast) : t.ast) : typed(t.sign < 0 ? '-' : '+', acc, t.ast);
  return acc!;
}

/**
 * A factor that every term of a sum has on the same side (up to sign), taken out where the rest
 * of the terms sum to one diagonal matrix: diag(u)*A - 2*diag(v)*A → diag(u - 2*v)*A,
 * A'*diag(u) + A'*diag(v) → A'*diag(u + v); or where every term keeps a factor of its own and
 * the factored form is no longer but for its parentheses: diag(s)*W - s*s'*W → (diag(s) -
 * s*s')*W (`accept`: 'shorter' where it is shorter, 'any' whatever its length). A number that
 * every term begins with comes out too. 2*A + diag(u)*A stays as it is.
 */
function factorSum(terms: readonly Term[], accept: 'shorter' | 'any' | 'default' = 'default'): Ast | undefined {
  if (terms.length < 2) return undefined;
  // Each term's scalar factors stay with what is left of it: 2*A'*D*A has A' on its left.
  // ... and signs of factors go to the term: -A'*D is A'*D with the sign -1.
  const split = terms.map((t) => {
    const { factors: fs, negative } = unsignedChain(t.ast);
    const k = fs.findIndex((f) => kindOf(f) !== 'scalar');
    const scalars = k < 0 ? fs : fs.slice(0, k);
    // A negative number's sign goes to the term too: -2*A is 2*A with the sign -1.
    const c = scalars[0];
    const flip = c?.kind === 'num' && c.value < 0;
    if (flip) scalars[0] = num(-c.value);
    return { sign: (negative !== flip ? -1 : 1) * t.sign, scalars, core: k < 0 ? [] : fs.slice(k) };
  });
  if (split.every((c) => c.core.length < 2)) return undefined;
  for (const side of ['right', 'left'] as const) {
    const outer = (c: readonly Ast[]): Ast => (side === 'right' ? c[c.length - 1]! : c[0]!);
    // The common factor up to a number: diag(u)*(X - A) + u*u'*(A - X) is (diag(u) - u*u')*(X - A),
    // A'*D*(2*eye + A) + D*(2*A + 4*eye) is (A' + 2*eye)*D*(2*eye + A).
    const keys = split.map((c) => (c.core.length === 0 ? undefined : scaledKey(outer(c.core))));
    if (keys.some((k) => k === undefined || k.key !== keys[0]!.key)) continue;
    const scales = keys.map((k) => k!.scale);
    const turned = scales.map(Math.sign);
    // Equal texts, equal sizes: kron(vector(1), eye) may stand for different sizes in two terms.
    const sizes = split.map((c) => constantSizes(outer(c.core)));
    if (sizes.some((z) => z === undefined || z !== sizes[0])) continue;
    // Of the forms the terms have, the smallest multiple (so that the others are whole multiples
    // of it), then the orientation that leaves more terms positive (all negative: all positive,
    // the sign outside), then the one that reads first (A - X, not X - A).
    const positives = (i: number): number => {
      const n = split.filter((c, j) => c.sign * turned[j]! * turned[i]! > 0).length;
      return n === 0 ? split.length : n;
    };
    const size = (i: number): number => Math.abs(scales[i]!);
    const ordered = (i: number): boolean => kindOf(outer(split[i]!.core)) !== 'matrix' || termsInOrder(outer(split[i]!.core));
    const text = (i: number): string => toText(outer(split[i]!.core));
    const better = (i: number, j: number): boolean =>
      size(i) !== size(j)
        ? size(i) < size(j)
        : positives(i) !== positives(j)
          ? positives(i) > positives(j)
          : ordered(i) !== ordered(j)
            ? ordered(i)
            : text(i).length !== text(j).length
              ? text(i).length < text(j).length
              : text(i) < text(j);
    const ref = turned.reduce<number>((best, _, i) => (better(i, best) ? i : best), 0);
    const multiple = scales.map((m) => m / scales[ref]!);
    if (!multiple.every(Number.isInteger)) continue;
    const turn = multiple.map(Math.sign);
    // A term that is the common factor alone leaves eye: A + diag(u)*A = (eye + diag(u))*A.
    const eye = (): Ast => mexpr(name('eye'), 'matrix', true).ast;
    // A number that every term has first comes out with the factor: 2*A*B + 2*A*C is 2*A*(B + C).
    const first = split[0]!.scalars[0];
    const scalar = first?.kind === 'num' && split.every((c) => c.scalars[0] !== undefined && toText(c.scalars[0]) === toText(first)) ? first : undefined;
    const restOf = (c: { scalars: Ast[]; core: Ast[] }): Ast[] => {
      const rest = side === 'right' ? c.core.slice(0, -1) : c.core.slice(1);
      return [...c.scalars.slice(scalar ? 1 : 0), ...(rest.length > 0 ? rest : [eye()])];
    };
    const rests = split.map((c, i) => productOf(times(Math.abs(multiple[i]!), restOf(c))));
    const kind = kindOf(rests[0]!);
    if (kind === undefined || kind === 'scalar' || !rests.every((r) => kindOf(r) === kind)) continue;
    // Every term negative: the sign goes outside, -X*(u*v' + v*u').
    const flip = split.every((c, i) => c.sign * turn[i]! < 0) ? -1 : 1;
    const signed = rests.map((r, i) => ({ sign: flip * turn[i]! * split[i]!.sign, ast: r }));
    const bySign = [...signed.filter((t) => t.sign > 0), ...signed.filter((t) => t.sign < 0)];
    const sum = sumOf(kind === 'matrix' ? inReadingOrder(bySign) : bySign);
    const merged = sum.kind !== 'binary' ? sum : kind === 'matrix' ? mergeSum(sum, true) : mergeVectorSum(sum, kind);
    const common = outer(split[ref]!.core);
    const factored = side === 'right' ? typed('*', merged, common) : typed('*', common, merged);
    const unpulled = scalar ? typed('*', scalar, factored) : factored;
    const chained = unsignedChain(unpulled);
    const pulled = pullNumbers(chained.factors);
    const product = !pulled ? unpulled : chained.negative ? negate(productOf(pulled)) : productOf(pulled);
    const out = flip < 0 ? negate(product) : product;
    const diagonalRest = diagonalOf(merged.kind === 'neg' ? merged.arg : merged) !== undefined || FACTORED.has(merged);
    // Other rests only where every term keeps a factor besides the common one, and the factored
    // form is no longer than the sum but for its parentheses: diag(s)*W - s*s'*W is
    // (diag(s) - s*s')*W; 2*A + diag(u)*A stays.
    // A term that is the common factor alone (its rest eye) only where that is shorter:
    // diag(u) + diag(u)*A is diag(u)*(eye + A); 2*A + A*B stays.
    const whole = toText(sumOf(terms)).length;
    const alone = split.some((c) => c.core.length < 2);
    // A sum that the input writes, whatever its length: (X'*X + b*eye)*t1, not X'*X*t1 + b*t1.
    if (!diagonalRest && accept !== 'any' && (alone || accept === 'shorter' ? toText(out).length >= whole : toText(out).length > whole + 2) && !isWritten(merged)) continue;
    FACTORED.add(product);
    return out;
  }
  return undefined;
}

/**
 * A sum with its like terms (equal but for their scalar factors) collected into one, the scalars
 * summed in front: 2*t1*t2*t2' + diag(t2) - t2*t2' is (2*t1 - 1)*t2*t2' + diag(t2). Undefined
 * where no two terms are alike.
 */
function collectLike(terms: readonly Term[]): Ast | undefined {
  const parts = terms.map((t) => {
    const { factors, negative } = unsignedChain(t.ast);
    const core = factors.filter((f) => kindOf(f) !== 'scalar');
    const key = core.length > 0 && constantSizes(productOf(core)) !== undefined ? toText(productOf(core)) : undefined;
    return { sign: negative ? -t.sign : t.sign, scalars: factors.filter((f) => kindOf(f) === 'scalar'), core, key };
  });
  const groups = new Map<string, number[]>();
  parts.forEach((p, i) => p.key !== undefined && groups.set(p.key, [...(groups.get(p.key) ?? []), i]));
  if (![...groups.values()].some((g) => g.length > 1)) return undefined;
  const scalarOf = (p: (typeof parts)[number]): Ast => (p.scalars.length > 0 ? productOf(p.scalars) : num(1));
  const out: Term[] = [];
  let collectedAny = false;
  parts.forEach((p, i) => {
    const g = p.key === undefined ? [i] : groups.get(p.key)!;
    if (g[0] !== i) return;
    if (g.length === 1) return out.push(terms[i]!);
    // The scalars as one scalar sum, positive terms first; all negative: the sign outside.
    const members = g.map((j) => parts[j]!);
    // Numbers alone add up: 2*P + P is 3*P (a sum that is 0 stays as it is).
    if (members.every((m) => m.scalars.every((f) => f.kind === 'num'))) {
      const c = members.reduce((sum, m) => sum + m.sign * m.scalars.reduce((prod, f) => prod * (f as Ast & { kind: 'num' }).value, 1), 0);
      if (c === 0) return g.forEach((j) => out.push(terms[j]!));
      collectedAny = true;
      return out.push({ sign: Math.sign(c), ast: productOf([...(Math.abs(c) === 1 ? [] : [num(Math.abs(c))]), ...p.core]) });
    }
    const outer = members.some((m) => m.sign > 0) ? 1 : -1;
    const ordered = [...members.filter((m) => m.sign * outer > 0), ...members.filter((m) => m.sign * outer < 0)];
    let c = scalarOf(ordered[0]!);
    for (const m of ordered.slice(1)) c = mexpr(typed(m.sign * outer > 0 ? '+' : '-', c, scalarOf(m)), 'scalar').ast;
    const collected = productOf([c, ...p.core]);
    // Transposed, its scalars stay in front (mergeDiagonals): ((a + 2)*x)' is (a + 2)*x'.
    FACTORED.add(collected);
    collectedAny = true;
    out.push({ sign: outer, ast: collected });
  });
  return collectedAny ? sumOf(out) : undefined;
}

/**
 * Terms that are one product L*diag(w)*R but for their weights w (and scalars), made one term
 * with the sum of the weights: A'*diag(u)*A - 2*b*A'*diag(v)*A is A'*diag(u - 2*b*v)*A. The
 * Hessian of a chain of layers is a sum of J'*diag(w)*J over the layers, each w spread over the
 * parts the chain rule gives it. A term with no L and R (a diagonal alone) is mergeSum's; a
 * term with two diagonals has no one weight. Undefined where no two terms share L and R.
 */
function collectWeighted(given: readonly Term[]): Ast | undefined {
  // A term that is scalars times a sum joins with its terms where that lets more terms join:
  // b*(J'*diag(u)*J + P) + J'*diag(v)*J is J'*diag(b*u + v)*J + b*P.
  const spread = (ts: readonly Term[]): Term[] => ts.flatMap((t) => {
    const s = scaledTerms(t);
    return s.length === 1 ? s : spread(s);
  });
  const joins = (ps: readonly (WeightedTerm | undefined)[]): number => ps.length - new Set(ps.map((p, i) => p?.key ?? i)).size;
  const givenParts = given.map(weightedTerm);
  const flat = spread(given);
  const flatParts = flat.length > given.length ? flat.map(weightedTerm) : undefined;
  const [terms, parts] = flatParts && joins(flatParts) > joins(givenParts) ? [flat, flatParts] : [given, givenParts];
  const groups = new Map<string, number[]>();
  parts.forEach((p, i) => p && groups.set(p.key, [...(groups.get(p.key) ?? []), i]));
  if (![...groups.values()].some((g) => g.length > 1)) return undefined;
  const out: Term[] = [];
  terms.forEach((t, i) => {
    const p = parts[i];
    const g = p ? groups.get(p.key)! : [i];
    if (g[0] !== i) return;
    if (g.length === 1) return out.push(t);
    const members = g.map((j) => parts[j]!);
    const outer = members.some((m) => m.sign > 0) ? 1 : -1;
    const ordered = [...members.filter((m) => m.sign * outer > 0), ...members.filter((m) => m.sign * outer < 0)];
    let w = ordered[0]!.weight;
    for (const m of ordered.slice(1)) w = asVector(typed(m.sign * outer > 0 ? '+' : '-', w, m.weight));
    out.push({ sign: outer, ast: productOf([...p!.left, diagonal(mergeVectorSum(w, 'vector')), ...p!.right]) });
  });
  return sumOf(out);
}

interface WeightedTerm {
  readonly sign: number;
  readonly left: readonly Ast[];
  readonly right: readonly Ast[];
  readonly weight: Ast;
  /** The text of the factors on either side of the diagonal: terms with one key differ in their weights only. */
  readonly key: string;
}

/** A term L*diag(w)*R read as its sides and its weight (its scalars times w); undefined for any other term. */
function weightedTerm(t: Term): WeightedTerm | undefined {
  const { factors, negative } = unsignedChain(t.ast);
  const at = factors.flatMap((f, i) => (diagonalOf(f) !== undefined ? [i] : []));
  if (at.length !== 1) return undefined;
  const [left, right] = [factors.slice(0, at[0]), factors.slice(at[0]! + 1)].map((fs) => fs.filter((f) => kindOf(f) !== 'scalar'));
  if (left!.length + right!.length === 0) return undefined;
  const scalars = factors.filter((f) => kindOf(f) === 'scalar');
  const w = diagonalOf(factors[at[0]!]!)!;
  const text = (fs: readonly Ast[]): string => (fs.length > 0 ? toText(productOf(fs)) : '');
  return { sign: negative ? -t.sign : t.sign, left: left!, right: right!, weight: asVector(scalars.length > 0 ? productOf([...scalars, w]) : w), key: `${text(left!)}|${text(right!)}` };
}

/**
 * A sum with a term P*F whose sum factor F has its terms, times one number c, among the other
 * terms, as (P + c*eye)*F where that is shorter: x + A'*(A*x - x) - A*x is (A' - eye)*(A*x - x),
 * the gradient of norm2(A*x - x)^2/2. F is on the right of a vector term, on the left of a row
 * term (F*P + c*F is F*(P + c*eye)), on either side of a matrix term. Undefined where no term has
 * such a factor.
 */
function factorThrough(given: readonly Term[], kind: 'matrix' | 'vector' | 'row'): Ast | undefined {
  // A term that is scalars times a sum joins with the sum's terms: 8*x + 4*(A*x - y) + 2*A'*F;
  // so does a product with a sum of matrices in it: (A + 0.5*eye)*x + 2*A'*F.
  const terms = given.flatMap((t) => scaledTerms(t, kind)).flatMap((t) => (kind === 'matrix' ? [t] : spreadTerms(t.sign < 0 ? negate(t.ast) : t.ast, kind)));
  if (terms.length < 3) return undefined;
  // Each term is matched against every other by its text: not tried on sums too long to read
  // (a form whose parts repeat, spelled out, may be exponentially long; it stays as it is).
  const whole = toText(sumOf(given)).length;
  if (whole > MAX_MATCHED_TEXT) return undefined;
  const parts = terms.map(numbered);
  const sides = kind === 'matrix' ? (['right', 'left'] as const) : kind === 'vector' ? (['right'] as const) : (['left'] as const);
  for (let k = 0; k < parts.length; k++) {
    const { coef, rest } = parts[k]!;
    for (const side of sides) {
      const f = side === 'right' ? rest[rest.length - 1] : rest[0];
      const p = side === 'right' ? rest.slice(0, -1) : rest.slice(1);
      // F a sum, or a temporary that stands for one (x + y - A*x - A'*t1 where t1 = x + y - A*x).
      const def = f?.kind === 'name' ? definitionOf(f.name) : f;
      if (!f || !def || kindOf(f) !== kind || !p.some((x) => kindOf(x) === 'matrix')) continue;
      const spread = spreadTerms(def, kind);
      if (spread.length < 2) continue;
      const fTerms = spread.map(numbered);
      const c = matchedScale(fTerms, parts, k, false) ?? matchedScale(fTerms, parts, k, true);
      if (!c) continue;
      // coef*P*F + c*F = (coef*P + c*eye)*F, its eye with the sign of F's term that no matrix
      // maps (2*(eye - A')*(x - A*x), 2*(A' - eye)*(A*x - x)), else positive terms first; both
      // negative: the sign outside.
      const eye = mexpr(name('eye'), 'matrix', true).ast;
      const scaled = (m: number, fs: readonly Ast[]): Term => ({ sign: Math.sign(m), ast: productOf([...(Math.abs(m) === 1 ? [] : [num(Math.abs(m))]), ...fs]) });
      const inner = [scaled(coef, p), scaled(c.scale, [...c.factors, eye])];
      const bare = fTerms.find((t) => !t.rest.some((x) => kindOf(x) === 'matrix'));
      const lead = bare ? Math.sign(c.scale) * Math.sign(bare.coef) : 1;
      const flip = inner.every((t) => t.sign * lead < 0) ? -lead : lead;
      const signed = inner.map((t) => ({ sign: t.sign * flip, ast: t.ast }));
      const sum = sumOf([...signed.filter((t) => t.sign > 0), ...signed.filter((t) => t.sign < 0)]);
      const merged = sum.kind === 'binary' ? mergeSum(sum, true) : sum;
      // A whole number of every term of the new factor goes in front: 2*(A' + 2*eye)*(2*x + A*x).
      const product = mergeProduct(typed('*', ...((side === 'right' ? [merged, f] : [f, merged]) as [Ast, Ast])) as Ast & { kind: 'binary' });
      const out = sumOf(terms.flatMap((t, i) => (i === k ? [{ sign: flip, ast: product }] : c.used.has(i) ? [] : [t])));
      if (toText(out).length < whole) return out;
    }
  }
  return undefined;
}

/** The longest sum (in characters) whose terms factorThrough matches with each other. */
const MAX_MATCHED_TEXT = 4000;

/**
 * The terms of a sum of vectors (or rows), a product with a sum of matrices in it spread over
 * that sum's terms: (eye - A)*x + y is x - A*x + y, as a form the input writes stands for them.
 * eye drops out of a product it is a factor of.
 */
function spreadTerms(a: Ast, kind: 'matrix' | 'vector' | 'row'): Term[] {
  return termsOf(a, kind).flatMap((t) => {
    const negative = t.ast.kind === 'neg';
    const factors = productFactors(negative ? (t.ast as Ast & { kind: 'neg' }).arg : t.ast);
    const sign = negative ? -t.sign : t.sign;
    const k = factors.findIndex((f) => isSumOf(f, 'matrix'));
    if (k < 0 || factors.length < 2 || factors.some((f, j) => j !== k && isSumOf(f, 'matrix'))) return [t];
    return termsOf(factors[k]!).map((u) => {
      const n = u.ast.kind === 'neg';
      const inner = productFactors(n ? (u.ast as Ast & { kind: 'neg' }).arg : u.ast);
      const all = [...factors.slice(0, k), ...inner, ...factors.slice(k + 1)];
      const kept = all.filter((f) => !isEye(f) || all.every((g) => g === f || kindOf(g) === 'scalar'));
      return { sign: sign * u.sign * (n ? -1 : 1), ast: productOf(scalarsFirst(kept)) };
    });
  });
}

/**
 * A sum of matrices that factors once a term's last factor, a sum of rows with a common left
 * factor, is written as that factor times the sum it leaves (t1*(t1'*A + t1') as t1*t1'*(A +
 * eye)), where that is no longer: diag(t1)*(A + eye) - t1*(t1'*A + t1') is (diag(t1) -
 * t1*t1')*(A + eye), and A + eye - vector(1)*(t1'*A + t1') is (eye - vector(1)*t1')*(A + eye).
 */
function factorRowed(terms: readonly Term[]): Ast | undefined {
  let changed = false;
  const rowed = terms.map((t): Term => {
    const { factors, negative } = unsignedChain(t.ast);
    const f = factors[factors.length - 1];
    if (!isSumOf(f, 'row')) return t;
    const factored = factorSum(termsOf(f, 'row'), 'any');
    const fs = factored && factored.kind !== 'neg' ? chain(factored) : [];
    const last = fs[fs.length - 1];
    if (!isSumOf(last, 'matrix')) return t;
    changed = true;
    return { sign: negative ? -t.sign : t.sign, ast: productOf([...factors.slice(0, -1), ...fs]) };
  });
  if (!changed) return undefined;
  const out = factorSum(rowed) ?? factorGroups(rowed) ?? factorThrough(rowed, 'matrix');
  return out && toText(out).length <= toText(sumOf(terms)).length ? out : undefined;
}

/** The printed definitions of the temporaries of the form being merged (withDefinitions), by name. */
let definitionOf: (name: string) => Ast | undefined = () => undefined;

/** The keys of the input's sums as they stand (signs.ts, writtenFactors) while a form is merged (withDefinitions). */
let inputSums: ReadonlySet<string> = new Set();

/** The input's sums of matrices, printed: a sum they divide is written as a product with one (division.ts). */
let writtenForms: readonly Ast[] = [];

/**
 * f() with the temporaries' definitions known to factorThrough (names stand for their forms), the
 * keys of the input's sums known to factorSum, and the input's sums of matrices, printed (`forms`),
 * known to dividedByWritten.
 */
export function withDefinitions<T>(definitions: (name: string) => Ast | undefined, f: () => T, written: ReadonlySet<string> = new Set(), forms: readonly Ast[] = []): T {
  const outer = [definitionOf, inputSums, writtenForms, mergedSums, scaledKeys] as const;
  definitionOf = definitions;
  inputSums = written;
  writtenForms = forms;
  mergedSums = new WeakMap();
  scaledKeys = new WeakMap();
  try {
    return f();
  } finally {
    [definitionOf, inputSums, writtenForms, mergedSums, scaledKeys] = outer;
  }
}

/**
 * mergeSum's results by the sum (and whether eye counts as a diagonal), for one set of
 * definitions and written sums: a sum's terms' diagonals merge their own sums again
 * (scaledDiagonalOf), and in a nested form such as a chain's derivative, (((…)*t2 + 1)*t1 + 1),
 * each level would redo every level inside it (the Hessian of a 300-deep exp chain took 75 s).
 */
let mergedSums = new WeakMap<readonly Ast[], readonly [WeakMap<Ast, Ast>, WeakMap<Ast, Ast>]>();

/** dividedByWritten's results (null: none) per set of written sums, by the sum's text and its names' definitions. */
const DIVIDED = new WeakMap<readonly Ast[], Map<string, Ast | null>>();

/** Whether the input writes a sum of matrices, as it stands or transposed: A' + eye where it has (A + eye). */
function isWritten(sum: Ast): boolean {
  if (inputSums.size === 0 || !isSumOf(sum, 'matrix')) return false;
  const symmetric = (f: Ast): boolean => diagonalOf(f) !== undefined || kindOf(f) === 'scalar' || (f.kind === 'name' && f.name === 'eye');
  const flipped = (f: Ast): Ast => (f.kind === 'transpose' ? f.arg : symmetric(f) ? f : tr(f));
  const transposed = termsOf(sum).map((t) => ({ sign: t.sign, ast: productOf(scalarsFirst(chain(t.ast).reverse().map(flipped))) }));
  return inputSums.has(sumKey(sum)) || inputSums.has(sumKey(sumOf(transposed)));
}

/** vector(c, …) or matrix(c, …) as c and the constant of ones, any other factor as it is. */
function unitConstant(f: Ast): Ast[] {
  if (f.kind !== 'call' || (f.fn !== 'vector' && f.fn !== 'matrix')) return [f];
  const v = f.args[0];
  if (v?.kind !== 'num' || v.value === 1 || v.value === 0) return [f];
  const kind = kindOf(f);
  return kind ? [num(v.value), mexpr(call(f.fn, num(1), ...f.args.slice(1)), kind, infoOf(f)?.symmetric ?? false).ast] : [f];
}

/** A term as its number (sign included) and its other factors: -2*A'*x is -2 and A'*x. */
function numbered(t: Term): { coef: number; rest: Ast[] } {
  const { factors, negative } = unsignedChain(t.ast);
  // A number in front of a part of unknown kind is a factor too (2*x in a definition).
  // A constant's value is a number too: vector(2) is 2 times vector(1), as 2*(vector(1) - t) spreads.
  const split = factors.flatMap((f) => (f.kind === 'binary' && f.op === '*' && f.left.kind === 'num' ? [f.left, f.right] : [f])).flatMap(unitConstant);
  const { c, rest } = numberOf(split);
  return { coef: (negative ? -t.sign : t.sign) * c, rest };
}


type Powers = { core: string; powers: Map<string, { base: Ast; exp: number }> };
const POWERS_OF = new WeakMap<readonly Ast[], Powers>();

/**
 * A term's scalar factors as powers of their bases (b^2*t*s is b: 2, t: 1, s: 1), and the text of
 * its other factors. Kept per factor list: factorThrough matches every term against every other.
 */
function powersOf(rest: readonly Ast[]): Powers {
  let p = POWERS_OF.get(rest);
  if (!p) POWERS_OF.set(rest, (p = powersOfNew(rest)));
  return p;
}

function powersOfNew(rest: readonly Ast[]): Powers {
  const powers = new Map<string, { base: Ast; exp: number }>();
  for (const s of rest.filter((f) => kindOf(f) === 'scalar')) {
    const { base, exp } = scalarPower(s);
    const key = toText(base);
    powers.set(key, { base, exp: (powers.get(key)?.exp ?? 0) + exp });
  }
  const core = rest.filter((f) => kindOf(f) !== 'scalar');
  return { core: core.length > 0 ? toText(productOf(core)) : '', powers };
}

/**
 * The number c, and where `symbolic` a product of scalars s, with which every term of a sum factor
 * (`inner`) stands among the terms `parts` other than the k-th, each matched once: c*F_i, or
 * c*s*F_i (b*y and -b*sum(y)*t1 are y and sum(y)*t1 times -b; -b*A' and b^2*eye are A' and b*eye
 * times -b); with the terms matched. Undefined where a term is missing.
 */
function matchedScale(inner: readonly { coef: number; rest: Ast[] }[], parts: readonly { coef: number; rest: Ast[] }[], k: number, symbolic: boolean): { scale: number; factors: Ast[]; used: Set<number> } | undefined {
  const used = new Set<number>();
  let scale: number | undefined;
  let ratio: Map<string, { base: Ast; exp: number }> | undefined;
  const same = (a: Map<string, { exp: number }>, b: Map<string, { exp: number }>): boolean => a.size === b.size && [...a].every(([key, v]) => b.get(key)?.exp === v.exp);
  const partPowers = parts.map((q) => powersOf(q.rest));
  for (const f of inner) {
    const fp = powersOf(f.rest);
    const j = parts.findIndex((q, i) => {
      const qp = partPowers[i]!;
      if (i === k || used.has(i) || qp.core !== fp.core || [...fp.powers.keys()].some((key) => !qp.powers.has(key))) return false;
      const d = new Map([...qp.powers].map(([key, v]) => [key, { base: v.base, exp: v.exp - (fp.powers.get(key)?.exp ?? 0) }] as const).filter(([, v]) => v.exp !== 0));
      if ([...d.values()].some((v) => v.exp < 0) || (d.size > 0) !== symbolic || (ratio && !same(d, ratio))) return false;
      const r = q.coef / f.coef;
      if (scale !== undefined && Math.abs(r - scale) > 1e-12 * Math.abs(scale)) return false;
      ratio ??= d;
      scale ??= r;
      return true;
    });
    if (j < 0) return undefined;
    used.add(j);
  }
  if (scale === undefined || scale === 0 || !ratio) return undefined;
  return { scale, used, factors: [...ratio.values()].map(({ base, exp }) => (exp === 1 ? base : typed('^', base, num(exp)))) };
}

/** Sums of at most this many terms are tried by factorGroups. */
const MAX_GROUPED_TERMS = 8;

/**
 * A sum that factors whole once the terms that share one factor are factored first:
 * A'*D*A - A'*D - D*(A - eye) is A'*D*(A - eye) - D*(A - eye), which is (A' - eye)*D*(A - eye).
 * Undefined where no such group leads to one product.
 */
function factorGroups(given: readonly Term[], kind: 'matrix' | 'vector' | 'row' = 'matrix'): Ast | undefined {
  // A term that is scalars times a sum joins with the sum's terms: b*(A'*D + D*A) is b*A'*D + b*D*A.
  const terms = given.flatMap((t) => scaledTerms(t, kind));
  if (terms.length < 3 || terms.length > MAX_GROUPED_TERMS) return undefined;
  if (terms.length > given.length) {
    const whole = factorSum(terms);
    if (whole) return whole;
  }
  const groups = new Map<string, number[]>();
  terms.forEach((t, i) => {
    const core = unsignedChain(t.ast).factors.filter((f) => kindOf(f) !== 'scalar');
    // A term that is one factor joins the groups of that factor: diag(t1) with diag(t1)*A.
    if (core.length === 0) return;
    for (const [side, f] of [['left', core[0]!], ['right', core[core.length - 1]!]] as const) {
      const key = `${side} ${scaledKey(f).key}`;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    }
  });
  // A product of two sums may be longer by the parentheses it adds: 2*(A' + eye)*(A + eye), not
  // 2*(A + A' + A'*A + eye); a vector's form, only where shorter.
  const slack = kind === 'matrix' ? 2 : -1;
  const shorter = (a: Ast): boolean => toText(a).length <= toText(sumOf(given)).length + slack;
  for (const members of groups.values()) {
    if (members.length < 2 || members.length === terms.length) continue;
    // A group of matrices factored as factorSum takes it alone, or in any case where the whole
    // then ends no longer but for parentheses: A'*A - 2*A is (A' - 2*eye)*A, which makes
    // A'*A - 2*A - 2*A' + 4*eye (A' - 2*eye)*(A - 2*eye).
    for (const accept of kind === 'matrix' ? (['default', 'any'] as const) : (['any'] as const)) {
      const part = factorSum(members.map((i) => terms[i]!), accept);
      if (!part) continue;
      const grouped = part.kind === 'neg' ? { sign: -1, ast: part.arg } : { sign: 1, ast: part };
      const rest = terms.filter((_, i) => !members.includes(i));
      // One group, then the whole (a group of groups would try exponentially many): a common
      // factor, or the group's factor's terms among the others (A'*y + y - s*A'*t - s*t is
      // (A' + eye)*(y - s*t)).
      const whole = (kind === 'matrix' ? factorSum([grouped, ...rest]) : undefined) ?? factorThrough([grouped, ...rest], kind);
      if (whole && ((kind === 'matrix' && accept === 'default') || shorter(whole))) return whole;
    }
  }
  return undefined;
}

/** A term c*(P + Q) as its terms c*P and c*Q (c its scalar factors; P, Q of `kind`); any other term as it is. */
function scaledTerms(t: Term, kind: 'matrix' | 'vector' | 'row' = 'matrix'): Term[] {
  const { factors, negative } = unsignedChain(t.ast);
  const sums = factors.filter((f) => kindOf(f) !== 'scalar');
  const sum = sums.length === 1 ? sums[0]! : undefined;
  if (!isSumOf(sum, kind)) return [t];
  const scalars = factors.filter((f) => f !== sum);
  const sign = negative ? -t.sign : t.sign;
  return termsOf(sum, kind).map((u) => ({ sign: sign * u.sign, ast: productOf([...scalars, u.ast]) }));
}

/**
 * The sizes of the constants in a form (vector(c), matrix(c), eye), as a key that does not depend
 * on their order; undefined where one has no recorded size (its context fixes it).
 */
function constantSizes(a: Ast): string | undefined {
  const keys: string[] = [];
  let unsized = false;
  const visit = (x: Ast): void => {
    const dims = constantDims(x);
    if (dims) keys.push(dims.join('x'));
    else if (isConstant(x)) unsized = true;
    // A constant term of a sum (times scalars) has the size of the sum's other terms: eye in
    // A + eye and X'*X + a*eye.
    if (x.kind === 'binary' && (x.op === '+' || x.op === '-')) {
      const terms = (y: Ast): Ast[] => (y.kind === 'binary' && (y.op === '+' || y.op === '-') ? [...terms(y.left), ...terms(y.right)] : [y]);
      const parts = terms(x);
      if (parts.some((t) => !scaledConstant(t))) {
        for (const t of parts) if (!scaledConstant(t)) visit(t);
        return;
      }
    }
    if (x.kind === 'neg' || x.kind === 'transpose') visit(x.arg);
    else if (x.kind === 'binary') [x.left, x.right].forEach(visit);
    else if (x.kind === 'call') x.args.forEach(visit);
  };
  visit(a);
  return unsized ? undefined : keys.sort().join(',');
}

const isConstant = (x: Ast): boolean => (x.kind === 'name' && x.name === 'eye') || (x.kind === 'call' && (x.fn === 'vector' || x.fn === 'matrix' || x.fn === 'eye'));

/** Whether a form is a constant times scalars: eye, 2*eye, -a*matrix(1), vector(1)/b. */
function scaledConstant(x: Ast): boolean {
  if (isConstant(x)) return true;
  if (x.kind === 'neg') return scaledConstant(x.arg);
  if (x.kind !== 'binary' || (x.op !== '*' && x.op !== '/')) return false;
  if (kindOf(x.left) === 'scalar' && x.op === '*') return scaledConstant(x.right);
  return kindOf(x.right) === 'scalar' && scaledConstant(x.left);
}

/**
 * A factor's terms in a fixed order, their numbers divided by the first one's, as a key that the
 * factor shares with its multiples, and that number (the scale): (A - X) and (X - A) share a key
 * at scales 1 and -1, (A - X)' and X' - A' too, (2*eye + A) and (2*A + 4*eye) at 1 and 2.
 */
function scaledKey(given: Ast): { key: string; scale: number } {
  let r = scaledKeys.get(given);
  if (!r) scaledKeys.set(given, (r = scaledKeyOf(given)));
  return r;
}

/**
 * scaledKey's results by the factor, for one set of definitions: factorSum asks it of each factor
 * of each term again for every form that merging rebuilds around the same factors, and a name's
 * key spells its definition out (the Jacobian of 16 layers sin(softmax(t)): 6.4 s of 14 in it).
 */
let scaledKeys = new WeakMap<Ast, { key: string; scale: number }>();

function scaledKeyOf(given: Ast): { key: string; scale: number } {
  // A temporary that stands for a sum is read as that sum: t1 and A + 2*eye where t1 = A + 2*eye.
  const spelled = (x: Ast): Ast => (x.kind === 'name' ? definitionOf(x.name) ?? x : x);
  const a = given.kind === 'transpose' ? mexpr(tr(spelled(given.arg)), kindOf(given) ?? 'matrix').ast : spelled(given);
  const transposed = a.kind === 'transpose' && kindOf(a.arg) === 'matrix';
  const terms = termsOf(transposed ? a.arg : a)
    .map((t) => {
      const { factors, negative } = unsignedChain(transposed ? transposeFactor(t.ast) : t.ast);
      // (A definition's products may carry no kind: 2*eye is one factor there, its number apart.)
      const { c, rest } = numberOf(factors.flatMap((f) => (f.kind === 'binary' && f.op === '*' && f.left.kind === 'num' ? [f.left, f.right] : [f])));
      const text = toText(productOf(rest));
      return { coef: (negative ? -t.sign : t.sign) * c, text };
    })
    .sort((x, y) => (x.text < y.text ? -1 : x.text > y.text ? 1 : 0));
  const scale = terms[0]!.coef;
  return { key: terms.map((t) => `${t.coef / scale} ${t.text}`).join(' + '), scale };
}

/** A term's text without its number: A for 2*A, eye for -2*eye. */
const unnumbered = (a: Ast): string => toText(productOf(numberOf(unsignedChain(a).factors).rest));

/**
 * Terms with each sign's in reading order but for their numbers (A' + eye, not eye + A'), where
 * one is not diagonal: eye + diag(cos(t)) stays, to become diag(vector(1) + cos(t)).
 */
function inReadingOrder(terms: readonly Term[]): Term[] {
  if (terms.every((t) => scaledDiagonalOf(t.ast, true) !== undefined)) return [...terms];
  const keyed = terms.map((t) => ({ t, key: unnumbered(t.ast) }));
  const sorted = (positive: boolean): Term[] =>
    keyed
      .filter(({ t }) => t.sign > 0 === positive)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map(({ t }) => t);
  return [...sorted(true), ...sorted(false)];
}

/**
 * Whether a sum's terms stand in reading order but for their numbers (A + 2*eye, as (A + 2*eye)*x
 * writes it, not 2*eye + A); a form that is not a sum is in order. Asked of matrices only: a sum
 * of vectors keeps its constant first (vector(1) + cos(t)).
 */
function termsInOrder(a: Ast): boolean {
  const texts = termsOf(a.kind === 'transpose' ? a.arg : a).map((t) => unnumbered(t.ast));
  return texts.every((x, i) => i === 0 || texts[i - 1]! <= x);
}

/** The factors of a product times m (a whole number ≥ 1): into its leading number where it has one. */
function times(m: number, fs: readonly Ast[]): Ast[] {
  if (m === 1) return [...fs];
  const c = fs[0];
  return c?.kind === 'num' ? [num(m * c.value), ...fs.slice(1)] : [num(m), ...fs];
}

/** The transpose of one factor of a product (diagonals and scalars as they are). */
function transposeFactor(f: Ast): Ast {
  if (f.kind === 'neg') return negate(transposeFactor(f.arg));
  if (diagonalOf(f) !== undefined || kindOf(f) === 'scalar' || infoOf(f)?.symmetric || (f.kind === 'name' && f.name === 'eye')) return f;
  const k = kindOf(f);
  const t = tr(f);
  return k ? mexpr(t, FLIP[k]).ast : t;
}

/** The transpose of a product of known kinds, factor by factor in reverse, its scalars in front. */
function transposeProduct(a: Ast): Ast {
  const out = productOf(scalarsFirst(chain(a).reverse().map(transposeFactor)));
  FACTORED.add(out);
  return out;
}

/** Sums that factorSum has made one product around a diagonal (A'*diag(u)*A from a sum of such). */
const FACTORED = new WeakSet<Ast>();

/**
 * A sum of vectors (or rows) with its like terms collected (x*a + 2*x is (a + 2)*x), a factor of
 * every term taken out where that is shorter (A'*(y - rows(A)*s) for A'*y - rows(A)*A'*s, but
 * X*x - A*x stays as the input may write it), and the terms of a sum factor of one term gathered
 * (factorThrough), also after a group of terms is factored (factorGroups).
 */
function mergeVectorSum(b: Ast, kind: 'vector' | 'row'): Ast {
  const terms = termsOf(b, kind);
  return collectLike(terms) ?? (kind === 'vector' ? factorHadamard(terms) : undefined) ?? shorter(dividedByWritten(terms, kind), factorSum(terms, 'shorter')) ?? factorThrough(terms, kind) ?? factorGroups(terms, kind) ?? writtenGroup(terms, kind) ?? b;
}

/** The element-wise product of vectors, left to right. */
const hadamardOf = (fs: readonly Ast[]): Ast => fs.reduce((a, b) => typed('.*', a, b));

/** The factors of a vector's element-wise product (u.*(v.*w) is u, v, w). */
function hadamardFactorsOf(a: Ast): Ast[] {
  if (a.kind === 'binary' && a.op === '.*' && kindOf(a.left) === 'vector' && kindOf(a.right) === 'vector') return [...hadamardFactorsOf(a.left), ...hadamardFactorsOf(a.right)];
  return [a];
}

/**
 * The factors that every term of a sum of vectors has in its element-wise product, taken out:
 * u.*v.*a - 2*b*u.*v.*w is u.*v.*(a - 2*b*w), the rest merged again, so that the weights of a
 * chain of layers nest as the chain does. Undefined where the terms share no such factor, or where
 * a term is the shared factors alone.
 */
function factorHadamard(terms: readonly Term[]): Ast | undefined {
  const parts: { sign: number; scalars: Ast[]; h: Ast[]; keys: string[] }[] = [];
  for (const t of terms) {
    const { factors, negative } = unsignedChain(t.ast);
    const vectors = factors.filter((f) => kindOf(f) !== 'scalar');
    if (vectors.length !== 1) return undefined;
    const h = hadamardFactorsOf(vectors[0]!);
    if (h.length < 2) return undefined;
    parts.push({ sign: negative ? -t.sign : t.sign, scalars: factors.filter((f) => kindOf(f) === 'scalar'), h, keys: h.map(toText) });
  }
  const countsOf = (keys: readonly string[]): Map<string, number> => keys.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<string, number>());
  const common = countsOf(parts[0]!.keys);
  for (const p of parts.slice(1)) {
    const c = countsOf(p.keys);
    for (const [k, n] of common) common.set(k, Math.min(n, c.get(k) ?? 0));
  }
  if (![...common.values()].some((n) => n > 0)) return undefined;
  // Each term's factors split into the shared ones and its own, in their order.
  const split = (p: (typeof parts)[number]): { shared: Ast[]; own: Ast[] } => {
    const left = new Map(common);
    const shared: Ast[] = [];
    const own: Ast[] = [];
    p.h.forEach((f, i) => {
      const n = left.get(p.keys[i]!) ?? 0;
      if (n > 0) left.set(p.keys[i]!, n - 1);
      (n > 0 ? shared : own).push(f);
    });
    return { shared, own };
  };
  const splits = parts.map(split);
  if (splits.some((s) => s.own.length === 0)) return undefined;
  const outer = parts.some((p) => p.sign > 0) ? 1 : -1;
  const order = [...parts.keys()].sort((i, j) => Number(parts[j]!.sign * outer > 0) - Number(parts[i]!.sign * outer > 0));
  const inner = sumOf(order.map((i) => ({ sign: parts[i]!.sign * outer, ast: productOf([...parts[i]!.scalars, hadamardOf(splits[i]!.own)]) })));
  const merged = isSumOf(inner, 'vector') ? mergeVectorSum(inner, 'vector') : inner;
  const product = hadamardOf([...splits[0]!.shared, merged]);
  return outer < 0 ? negate(product) : product;
}

/**
 * A sum of vectors (or rows) with the terms that share their last (first) factor written as a
 * sum that the input writes times that factor, the others as they are: x - A*x - y is
 * (eye - A)*x - y where the input has (eye - A)*x. Undefined where no group makes such a sum.
 */
function writtenGroup(terms: readonly Term[], kind: 'vector' | 'row'): Ast | undefined {
  if (terms.length < 3 || inputSums.size === 0) return undefined;
  const outer = (t: Term): Ast | undefined => {
    const fs = unsignedChain(t.ast).factors.filter((f) => kindOf(f) !== 'scalar');
    return kind === 'vector' ? fs[fs.length - 1] : fs[0];
  };
  const groups = new Map<string, number[]>();
  terms.forEach((t, i) => {
    const f = outer(t);
    if (f) groups.set(toText(f), [...(groups.get(toText(f)) ?? []), i]);
  });
  for (const members of groups.values()) {
    if (members.length < 2 || members.length === terms.length) continue;
    const part = factorSum(members.map((i) => terms[i]!));
    const product = part?.kind === 'neg' ? part.arg : part;
    if (!product || !chain(product).some(isWritten)) continue;
    const grouped: Term[] = [{ sign: part!.kind === 'neg' ? -1 : 1, ast: product }, ...terms.filter((_, i) => !members.includes(i))];
    // The group may share a factor with the rest: (A' - eye)*y - s*(A' - eye)*t1.
    return factorSum(grouped, 'shorter') ?? sumOf(grouped);
  }
  return undefined;
}

/**
 * A sum with a common outer factor as that factor times a sum (factorSum), and its diagonal terms
 * as one term diag(±u ± v …), where the first of them stood.
 */
function mergeSum(a: Ast & { kind: 'binary' }, eye = false): Ast {
  // Inside a division (dividedByWritten) or while the written sums are prepared, results differ.
  if (dividing > 0) return mergeSumOnce(a, eye);
  let memos = mergedSums.get(writtenForms);
  if (!memos) mergedSums.set(writtenForms, (memos = [new WeakMap(), new WeakMap()]));
  const memo = memos[eye ? 1 : 0];
  let out = memo.get(a);
  if (out === undefined) memo.set(a, (out = mergeSumOnce(a, eye)));
  return out;
}

function mergeSumOnce(a: Ast & { kind: 'binary' }, eye: boolean): Ast {
  if (kindOf(a) !== 'matrix') return a;
  const terms = termsOf(a);
  const collected = collectLike(terms) ?? collectWeighted(terms);
  if (collected) return collected.kind === 'binary' && (collected.op === '+' || collected.op === '-') ? mergeSum(collected, eye) : collected;
  const factored = shorter(dividedByWritten(terms, 'matrix'), factorSum(terms)) ?? factorGroups(terms) ?? factorThrough(terms, 'matrix') ?? factorRowed(terms);
  if (factored) return factored;
  const diagonals = terms.map((t) => scaledDiagonalOf(t.ast, eye));
  if (diagonals.filter((v) => v !== undefined).length < 2) return a;
  // Positive parts first (diag(u - 2*v), not diag(-2*v + u)); all negative: the sign outside.
  const parts = diagonals.flatMap((v, i) => {
    if (!v) return [];
    const sign = terms[i]!.sign;
    return startsNegative(v) ? [{ sign: -sign, v: negate(v) }] : [{ sign, v }];
  });
  const outer = parts.some((p) => p.sign > 0) ? 1 : -1;
  const ordered = [...parts.filter((p) => p.sign * outer > 0), ...parts.filter((p) => p.sign * outer < 0)];
  let vec = ordered[0]!.v;
  for (const p of ordered.slice(1)) vec = asVector(typed(p.sign * outer > 0 ? '+' : '-', vec, p.v));
  const first = diagonals.findIndex((v) => v !== undefined);
  return sumOf(terms.flatMap((t, i) => (i === first ? [{ sign: outer, ast: diagonal(vec!) }] : diagonals[i] ? [] : [t])));
}
