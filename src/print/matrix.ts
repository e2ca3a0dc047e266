/**
 * Index IR → matrix notation, as an AST of the input language (so every printed form parses back).
 *
 * A product is a graph: matrices are edges between their two labels, vectors end a path, and a
 * label shared by more than two factors is resolved by Hadamard products (v.*w, M.*N) or by a
 * diag(v) inserted into the path. Paths then read off as chains (u'*A*B*v, A*B', tr(A*B)), two
 * free ends as an outer product u*v'. Whatever does not fit these patterns has no matrix form: the
 * printer returns undefined and the caller shows index notation instead.
 */
import type { Ast } from '../syntax/ast.js';
import { type Node, type NodeOf, isSymmetric } from '../ir/node.js';
import { bin, call, name, negate, num, tr } from './build.js';
import { toText } from './text.js';

export type Kind = 'scalar' | 'vector' | 'matrix';

export interface MExpr {
  readonly ast: Ast;
  readonly kind: Kind;
  /** Equal to its own transpose (so no ' is printed for it). */
  readonly symmetric: boolean;
}

const KIND: readonly Kind[] = ['scalar', 'vector', 'matrix'];

function expr(ast: Ast, kind: Kind, symmetric = false): MExpr {
  return { ast, kind, symmetric: symmetric || kind === 'scalar' };
}

/** The transpose of a matrix expression (vectors and symmetric matrices unchanged). */
function transposed(e: MExpr): MExpr {
  if (e.kind !== 'matrix' || e.symmetric) return e;
  return expr(tr(e.ast), 'matrix');
}

function product(items: Ast[]): Ast {
  return items.reduce((acc, a) => bin('*', acc, a));
}

/** s*(A*B) printed as s*A*B: a scalar moves into the leftmost factor of a product or quotient. */
function scalarTimes(s: Ast, a: Ast): Ast {
  if (a.kind === 'binary' && (a.op === '*' || a.op === '/' || a.op === '.*' || a.op === './'))
    return bin(a.op, scalarTimes(s, a.left), a.right);
  if (a.kind === 'neg') return negate(scalarTimes(s, a.arg));
  return bin('*', s, a);
}

const cache = new WeakMap<Node, MExpr | null>();

/** The matrix form of a node of rank ≤ 2 (vectors as columns), or undefined if it has none. */
export function toMatrix(n: Node): MExpr | undefined {
  const hit = cache.get(n);
  if (hit !== undefined) return hit ?? undefined;
  const r = n.shape.length <= 2 ? build(n) : undefined;
  cache.set(n, r ?? null);
  return r;
}

function build(n: Node): MExpr | undefined {
  const kind = KIND[n.shape.length]!;
  const sym = n.shape.length === 2 && isSymmetric(n);
  switch (n.kind) {
    case 'var':
      return expr(name(n.name), kind, sym);
    case 'const':
      if (kind === 'scalar') return expr(num(n.value), kind);
      return expr(call(kind, num(n.value)), kind, sym);
    case 'delta':
      return expr(name('eye'), 'matrix', true);
    case 'add':
      return addForm(n, kind, sym);
    case 'mul':
      return mulForm(n);
    case 'elem': {
      const a = toMatrix(n.arg);
      return a && expr(call(n.fn, a.ast), kind, sym);
    }
    case 'pow':
      return powForm(n, kind, sym);
    case 'powv': {
      const b = toMatrix(n.base);
      const e = toMatrix(n.exponent);
      return b && e && expr(bin(kind === 'scalar' ? '^' : '.^', b.ast, e.ast), kind, sym);
    }
    case 'inv':
    case 'adj': {
      const a = toMatrix(n.arg);
      return a && expr(call(n.kind, a.ast), 'matrix', sym);
    }
    case 'det':
    case 'logdet': {
      const a = toMatrix(n.arg);
      return a && expr(call(n.kind, a.ast), 'scalar');
    }
  }
}

/** A term c·T as an AST: 2*A, -x, c*vector(1) → vector(c). */
function scaled(c: number, e: MExpr, node: Node): Ast {
  if (node.kind === 'const' && node.value === 1 && e.kind !== 'scalar') return call(e.kind, num(c));
  if (c === 1) return e.ast;
  if (c === -1) return negate(e.ast);
  if (e.ast.kind === 'num') return num(c * e.ast.value);
  return scalarTimes(num(c), e.ast);
}

function addForm(n: NodeOf<'add'>, kind: Kind, sym: boolean): MExpr | undefined {
  const parts: { c: number; e: MExpr; node: Node }[] = [];
  for (const t of n.terms) {
    const e = toMatrix(t.node);
    if (!e) return undefined;
    parts.push({ c: t.coef, e, node: t.node });
  }
  // Terms sharing a coefficient magnitude are grouped: 0.5*A + 0.5*A' → 0.5*(A + A').
  const groups = new Map<number, typeof parts>();
  for (const p of parts) groups.set(Math.abs(p.c), [...(groups.get(Math.abs(p.c)) ?? []), p]);
  const items: Signed[] = [];
  for (const [k, g] of groups) {
    if (k !== 1 && g.length > 1 && !g.some((p) => p.node.kind === 'const')) {
      const sign = g.every((p) => p.c < 0) ? -1 : 1;
      const inner = signedSum(g.map((p) => ({ sign: Math.sign(sign * p.c), ast: p.e.ast })));
      items.push({ sign, ast: bin('*', num(k), inner) });
    } else for (const p of g) items.push({ sign: Math.sign(p.c), ast: scaled(Math.abs(p.c), p.e, p.node) });
  }
  return expr(signedSum(items), kind, sym);
}

interface Signed {
  readonly sign: number;
  readonly ast: Ast;
}

/** Reading order of terms: alphabetical, a transposed name after the plain one (A + A'). */
function readingKey(a: Ast): string {
  return toText(a).replace(/'/g, '~');
}

/** Σ ±t, positive terms first (A - B rather than -B + A), each group in reading order. */
function signedSum(items: readonly Signed[]): Ast {
  const byKey = (xs: Signed[]): Signed[] =>
    xs.map((x) => ({ x, k: readingKey(x.ast) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((e) => e.x);
  const ordered = [...byKey(items.filter((p) => p.sign > 0)), ...byKey(items.filter((p) => p.sign < 0))];
  let acc: Ast | undefined;
  for (const p of ordered) {
    if (!acc) acc = p.sign < 0 ? negate(p.ast) : p.ast;
    else acc = bin(p.sign < 0 ? '-' : '+', acc, p.ast);
  }
  return acc!;
}

/** Σ u∘u over all axes of u, if that is what n is. */
function sumOfSquaresOf(n: Node): Node | undefined {
  if (n.kind !== 'mul' || n.shape.length !== 0 || n.factors.length !== 2) return undefined;
  const [a, b] = n.factors as [NodeOf<'mul'>['factors'][number], NodeOf<'mul'>['factors'][number]];
  if (a.node !== b.node || a.labels.join() !== b.labels.join()) return undefined;
  if (new Set(a.labels).size !== a.labels.length) return undefined;
  return a.node;
}

function powForm(n: NodeOf<'pow'>, kind: Kind, sym: boolean): MExpr | undefined {
  const sq = sumOfSquaresOf(n.base);
  if (sq && sq.shape.length <= 2) {
    const u = toMatrix(sq);
    if (!u) return undefined;
    const norm = call('norm2', u.ast);
    const p = 2 * n.exp;
    return expr(p === 1 ? norm : bin('^', norm, num(p)), 'scalar');
  }
  const b = toMatrix(n.base);
  if (!b) return undefined;
  if (n.exp === 0.5) return expr(call('sqrt', b.ast), kind, sym);
  return expr(bin(kind === 'scalar' ? '^' : '.^', b.ast, num(n.exp)), kind, sym);
}

// ---------------------------------------------------------------------------------------------
// Products

interface Piece {
  e: MExpr;
  labels: number[];
  /** The IR node, when the piece is one factor (used to print negative powers as division). */
  node: Node | undefined;
}

function isNegPow(n: Node | undefined): n is NodeOf<'pow'> {
  return n !== undefined && n.kind === 'pow' && n.exp < 0;
}

/** What a negative power divides by: s^-2 → s^2, x.^-1 → x, (Σ u∘u)^-1.5 → norm2(u)^3. */
function divisorOf(p: NodeOf<'pow'>, kind: Kind): Ast | undefined {
  const sq = sumOfSquaresOf(p.base);
  const inner = toMatrix(sq ?? p.base);
  if (!inner) return undefined;
  const base = sq ? call('norm2', inner.ast) : inner.ast;
  const e = sq ? -2 * p.exp : -p.exp;
  return e === 1 ? base : bin(kind === 'scalar' ? '^' : '.^', base, num(e));
}

/** Element-wise product of same-kind pieces, negative powers as division: y.*e./s.^2. */
function hadamardOf(ps: Piece[], kind: Kind): MExpr | undefined {
  const numer: Ast[] = [];
  const denom: Ast[] = [];
  for (const p of ps) {
    if (isNegPow(p.node)) {
      const d = divisorOf(p.node, kind);
      if (!d) return undefined;
      denom.push(d);
    } else numer.push(p.e.ast);
  }
  const mulOp = kind === 'scalar' ? '*' : '.*';
  const divOp = kind === 'scalar' ? '/' : './';
  let acc: Ast = numer.length > 0 ? numer.reduce((a, b) => bin(mulOp, a, b)) : kind === 'scalar' ? num(1) : call(kind, num(1));
  for (const d of denom) acc = bin(divOp, acc, d);
  return expr(acc, kind, ps.every((p) => p.e.symmetric));
}

function mulForm(n: NodeOf<'mul'>): MExpr | undefined {
  const rank = n.shape.length;
  // Σ M∘M over both axes of a matrix: norm2(M)^2 reads better than sum(M.*M).
  const sq = sumOfSquaresOf(n);
  if (sq && sq.shape.length === 2) {
    const m = toMatrix(sq);
    return m && expr(bin('^', call('norm2', m.ast), num(2)), 'scalar');
  }

  let nextLabel = n.nlabels;
  const pieces: Piece[] = [];
  for (const f of n.factors) {
    const e = toMatrix(f.node);
    if (!e) return undefined;
    pieces.push({ e, labels: [...f.labels], node: f.node });
  }
  const uses = (l: number): Piece[] => pieces.filter((p) => p.labels.includes(l));
  const slotCount = (l: number): number => pieces.reduce((s, p) => s + p.labels.filter((x) => x === l).length, 0) + (l < rank ? 1 : 0);
  const remove = (p: Piece): void => {
    pieces.splice(pieces.indexOf(p), 1);
  };

  // Diagonals first: A_aa is diag(A) (or tr(A) when a is used nowhere else).
  for (const p of [...pieces]) {
    if (p.labels.length === 2 && p.labels[0] === p.labels[1]) {
      const a = p.labels[0]!;
      const alone = a >= rank && uses(a).length === 1;
      p.e = alone ? expr(call('tr', p.e.ast), 'scalar') : expr(call('diag', p.e.ast), 'vector');
      p.labels = alone ? [] : [a];
      p.node = undefined;
    }
  }

  for (let guard = 0; guard < 4 * (pieces.length + 4); guard++) {
    if (!step()) break;
  }

  function pathToVector(m: Piece, from: number): Piece[] | undefined {
    const path: Piece[] = [m];
    let cur = m.labels[0] === from ? m.labels[1]! : m.labels[0]!;
    for (;;) {
      if (cur < rank || slotCount(cur) !== 2) return undefined;
      const last = path[path.length - 1]!;
      const q = pieces.find((p) => p !== last && p.labels.includes(cur));
      if (!q || path.includes(q)) return undefined;
      path.push(q);
      if (q.e.kind === 'vector') return path;
      cur = q.labels[0] === cur ? q.labels[1]! : q.labels[0]!;
    }
  }

  function step(): boolean {
    // δ_ab next to a vector v_a is diag(v)_ab.
    for (const d of pieces) {
      if (d.node?.kind !== 'delta') continue;
      const v = pieces.find((p) => p !== d && p.e.kind === 'vector' && (p.labels[0] === d.labels[0] || p.labels[0] === d.labels[1]));
      if (!v) continue;
      const a = v.labels[0]!;
      if (slotCount(a) !== 3) continue;
      remove(v);
      d.e = expr(call('diag', v.e.ast), 'matrix', true);
      d.node = undefined;
      return true;
    }
    // A summed label in one slot only: a sum over it.
    for (const p of pieces) {
      for (let s = 0; s < p.labels.length; s++) {
        const l = p.labels[s]!;
        if (l < rank || slotCount(l) !== 1) continue;
        if (p.e.kind === 'vector') {
          const isAbs = p.node?.kind === 'elem' && p.node.fn === 'abs';
          p.e = isAbs ? expr(call('norm1', toMatrix((p.node as NodeOf<'elem'>).arg)!.ast), 'scalar') : expr(call('sum', p.e.ast), 'scalar');
          p.labels = [];
        } else {
          const other = p.labels[1 - s]!;
          if (other >= rank && slotCount(other) === 1) {
            p.e = expr(call('sum', p.e.ast), 'scalar');
            p.labels = [];
          } else {
            // Σ_a M_ab = (M'*1)_b ; Σ_b M_ab = (M*1)_a
            const m = s === 0 ? transposed(p.e) : p.e;
            p.e = expr(bin('*', m.ast, call('vector', num(1))), 'vector');
            p.labels = [other];
          }
        }
        p.node = undefined;
        return true;
      }
    }
    // Two matrices on the same two labels: a Hadamard product.
    for (const p of pieces) {
      if (p.labels.length !== 2) continue;
      const q = pieces.find((o) => o !== p && o.labels.length === 2 && o.labels.includes(p.labels[0]!) && o.labels.includes(p.labels[1]!));
      if (!q) continue;
      const qe = q.labels[0] === p.labels[0] ? q.e : transposed(q.e);
      const h = hadamardOf([p, { ...q, e: qe, node: q.labels[0] === p.labels[0] ? q.node : undefined }], 'matrix');
      if (!h) return false;
      remove(q);
      p.e = h;
      p.node = undefined;
      return true;
    }
    // A label in more than two places (counting the output): Hadamard products of the vectors on
    // it, or a diag(v) put into the path.
    for (let l = 0; l < nextLabel; l++) {
      const count = slotCount(l);
      if (count < 3) continue;
      const on = uses(l);
      const vecs = on.filter((p) => p.e.kind === 'vector');
      if (vecs.length >= 2) {
        const h = hadamardOf(vecs, 'vector');
        if (!h) return false;
        for (const v of vecs.slice(1)) remove(v);
        vecs[0]!.e = h;
        vecs[0]!.node = undefined;
        return true;
      }
      if (vecs.length === 1) {
        const mats = on.filter((p) => p.e.kind === 'matrix');
        if (mats.length === 0) return false;
        // A matrix path from l that ends in a vector is a vector on l: y.*(X*w) rather than diag(y)*X*w.
        for (const m of mats) {
          const path = pathToVector(m, l);
          if (!path) continue;
          const items: Ast[] = [];
          let cur = l;
          for (const q of path) {
            if (q.e.kind === 'vector') items.push(q.e.ast);
            else {
              const s = q.labels.indexOf(cur);
              items.push((s === 0 ? q.e : transposed(q.e)).ast);
              cur = q.labels[1 - s]!;
            }
          }
          for (const q of path) remove(q);
          pieces.push({ e: expr(product(items), 'vector'), labels: [l], node: undefined });
          return true;
        }
        const v = vecs[0]!;
        const fresh = nextLabel++;
        const m = mats[0]!;
        m.labels = m.labels.map((x) => (x === l ? fresh : x));
        v.e = expr(call('diag', v.e.ast), 'matrix', true);
        v.labels = [l, fresh];
        v.node = undefined;
        return true;
      }
      return false;
    }
    return false;
  }

  // Every label is now in at most two places: read off chains.
  for (let l = 0; l < nextLabel; l++) if (slotCount(l) > 2) return undefined;
  const scalars: Piece[] = pieces.filter((p) => p.labels.length === 0);
  const rest = pieces.filter((p) => p.labels.length > 0);
  const used = new Set<Piece>();
  const other = (p: Piece, l: number): Piece | undefined => rest.find((q) => q !== p && !used.has(q) && q.labels.includes(l));

  interface Chain {
    items: MExpr[];
    start: number | undefined; // free label at the start (row), if any
    end: number | undefined; // free label at the end (column), if any
    closedStart: boolean; // starts with a vector (as a row)
    closedEnd: boolean; // ends with a vector
  }

  const walk = (first: Piece, entry: number | undefined): Chain => {
    const items: MExpr[] = [];
    let closedStart = false;
    let start: number | undefined;
    let cur: number;
    used.add(first);
    if (first.e.kind === 'vector') {
      closedStart = true;
      items.push(first.e);
      cur = first.labels[0]!;
    } else {
      start = entry;
      const s = first.labels.indexOf(entry!);
      items.push(s === 0 ? first.e : transposed(first.e));
      cur = first.labels[1 - s]!;
    }
    for (;;) {
      const q = other(first, cur);
      if (!q || used.has(q)) {
        if (closedStart && items.length === 1 && cur < rank) return { items, start: undefined, end: cur, closedStart, closedEnd: false };
        return { items, start, end: cur, closedStart, closedEnd: false };
      }
      used.add(q);
      if (q.e.kind === 'vector') {
        items.push(q.e);
        return { items, start, end: undefined, closedStart, closedEnd: true };
      }
      const s = q.labels.indexOf(cur);
      items.push(s === 0 ? q.e : transposed(q.e));
      cur = q.labels[1 - s]!;
      first = q;
    }
  };

  const chains: Chain[] = [];
  // Start from free labels and from vectors, then close the cycles that remain (traces).
  for (let l = 0; l < rank; l++) {
    const p = rest.find((q) => q.labels.includes(l));
    if (!p || used.has(p)) continue;
    if (p.e.kind === 'vector') chains.push(walk(p, undefined));
    else chains.push(walk(p, l));
  }
  for (const p of rest) if (!used.has(p) && p.e.kind === 'vector') chains.push(walk(p, undefined));
  for (const p of rest) {
    if (used.has(p)) continue;
    const cycle = walk(p, p.labels[0]);
    scalars.push({ e: expr(call('tr', chainAst(cycle.items, false, false)), 'scalar'), labels: [], node: undefined });
  }

  const scalarParts: Ast[] = [];
  const denominators: Ast[] = [];
  for (const s of scalars) {
    if (isNegPow(s.node)) {
      const d = divisorOf(s.node, 'scalar');
      if (!d) return undefined;
      denominators.push(d);
    } else scalarParts.push(s.e.ast);
  }
  let main: MExpr | undefined;
  const vectorsByLabel = new Map<number, Ast>();
  for (const c of chains) {
    if (c.closedStart && c.closedEnd) {
      scalarParts.push(chainAst(c.items, true, true));
      continue;
    }
    if (rank === 0) return undefined;
    if (c.closedStart || c.closedEnd) {
      // One free end: a column vector for that label.
      const free = c.closedStart ? c.end! : c.start!;
      const items = c.closedStart ? [...c.items].reverse().map(transposed) : c.items;
      vectorsByLabel.set(free, chainAst(items, false, false));
      continue;
    }
    // Two free ends: a matrix with rows c.start and columns c.end.
    if (c.start === undefined || c.end === undefined) return undefined;
    const m = chainAst(c.items, false, false);
    if (rank !== 2) return undefined;
    main = c.start === 0 ? expr(m, 'matrix') : transposed(expr(m, 'matrix'));
  }
  if (rank === 1) {
    const v = vectorsByLabel.get(0);
    if (!v || vectorsByLabel.size !== 1 || main) return undefined;
    main = expr(v, 'vector');
  } else if (rank === 2 && !main) {
    const u = vectorsByLabel.get(0);
    const v = vectorsByLabel.get(1);
    if (!u || !v) return undefined;
    main = expr(bin('*', u, tr(v)), 'matrix');
  }
  let acc: Ast | undefined;
  for (const s of scalarParts) acc = acc ? bin('*', acc, s) : s;
  if (main) acc = acc ? scalarTimes(acc, main.ast) : main.ast;
  if (!acc) acc = num(1);
  for (const d of denominators) acc = bin('/', acc, d);
  return expr(acc, KIND[rank]!, rank === 2 && isSymmetric(n));

  /** A chain as a product; a leading vector is transposed into a row. */
  function chainAst(items: MExpr[], closedStart: boolean, _closedEnd: boolean): Ast {
    const asts = items.map((e, i) => (i === 0 && closedStart ? tr(e.ast) : e.ast));
    return product(asts);
  }
}
