/**
 * Where a generated module's self-check draws each variable from, derived from the IR: the
 * functions an expression applies say what their arguments need (log a positive argument, inv and
 * logdet a matrix with a positive determinant, abs a value away from its kink), and each need is
 * pushed down through the operations that preserve it until it reaches variables.
 *
 * The propagation is sound where it acts (a product of positive factors is positive; a sum of
 * strictly diagonally dominant matrices with positive diagonals is one again, and such a matrix
 * has a positive determinant by Gershgorin) and best effort elsewhere: a need on a difference
 * such as log(x - y) cannot be met by drawing x and y apart, so it is dropped.
 */
import { type Node, isNonNegative, topoOrder } from '../ir/node.js';

/** How the self-check draws a variable's entries. */
export interface Domain {
  /** Entries are uniform in [lo, hi] … */
  readonly lo: number;
  readonly hi: number;
  /** … times a random sign (values away from 0 on both sides). */
  readonly signed: boolean;
  /** A square matrix: its diagonal is raised until the matrix is strictly diagonally dominant. */
  readonly dominant: boolean;
}

type Need = 'positive' | 'away' | 'unit' | 'dominant';

/** The domain of every variable the roots depend on (by variable name). */
export function inputDomains(roots: readonly Node[]): Map<string, Domain> {
  const needs = new Map<string, Set<Need>>();
  const require = (n: Node, need: Need): void => propagate(n, need, (name, nd) => {
    let s = needs.get(name);
    if (!s) needs.set(name, (s = new Set()));
    s.add(nd);
  });
  for (const n of topoOrder(roots)) for (const [arg, need] of needsOf(n)) require(arg, need);
  const out = new Map<string, Domain>();
  for (const n of topoOrder(roots)) if (n.kind === 'var') out.set(n.name, domainFor(needs.get(n.name) ?? new Set(), n.shape.length === 2 && n.shape[0] === n.shape[1]));
  return out;
}

/** What a node needs of its arguments: log(u) needs u > 0, inv(A) and logdet(A) need det(A) > 0, … */
function needsOf(n: Node): [Node, Need][] {
  switch (n.kind) {
    case 'elem':
      if (n.fn === 'log') return [[n.arg, 'positive']];
      if (n.fn === 'arcsin' || n.fn === 'arccos') return [[n.arg, 'unit']];
      if (n.fn === 'abs' || n.fn === 'sign' || n.fn === 'relu') return [[n.arg, 'away']];
      return [];
    case 'pow':
      // u^p for a non-integer p needs u ≥ 0 (u > 0 for its derivatives); u^-k needs u ≠ 0.
      if (!Number.isInteger(n.exp)) return [[n.base, 'positive']];
      return n.exp < 0 ? [[n.base, 'away']] : [];
    case 'powv':
      return [[n.base, 'positive']];
    case 'inv':
    case 'logdet':
      return [[n.arg, 'dominant']];
    default:
      return [];
  }
}

/** Pushes a need on n down to variables; `meet` records a need on a variable. */
function propagate(n: Node, need: Need, meet: (name: string, need: Need) => void): void {
  if ((need === 'positive' || need === 'away') && isNonNegative(n)) return; // exp(u), x'x, …: met already
  switch (n.kind) {
    case 'var':
      meet(n.name, need);
      return;
    case 'mul': {
      if (n.factors.length === 1) {
        // A transpose, trace, sum or diagonal keeps the need; diag(v) is dominant for a positive v.
        const f = n.factors[0]!.node;
        propagate(f, need === 'dominant' && f.shape.length === 1 ? 'positive' : need, meet);
        return;
      }
      // A product of positive factors is positive. (Not drawn positive for `away`: relu(W*x) should
      // see both sides of its kink, and a random product is almost surely away from it.)
      if (need === 'positive') for (const f of n.factors) propagate(f.node, need, meet);
      // A product of square matrices with positive determinants has one, det(AB) = det(A)·det(B),
      // and so has one scaled by positive diagonals (diag(s)*A, X'*diag(s)*X for X of full rank).
      if (need === 'dominant')
        for (const f of n.factors) {
          if (isSquare(f.node)) propagate(f.node, need, meet);
          else if (f.node.shape.length === 1) propagate(f.node, 'positive', meet);
        }
      return;
    }
    case 'add':
      // Positive terms sum to a positive one; dominant matrices with positive diagonals too.
      if (need === 'positive' || need === 'dominant') for (const t of n.terms) if (t.coef > 0) propagate(t.node, need, meet);
      if (need === 'away' && n.terms.length === 1) propagate(n.terms[0]!.node, need, meet);
      return;
    case 'inv':
      // det(inv(A)) = 1/det(A).
      if (need === 'dominant') propagate(n.arg, need, meet);
      return;
    case 'pow':
      if (need === 'positive' || need === 'away') propagate(n.base, need, meet);
      return;
    case 'mpow':
      // det(A^k) = det(A)^k; a power of a matrix with positive entries has positive entries.
      if (n.dirs.length === 0 && (need === 'dominant' || need === 'positive')) propagate(n.base, need, meet);
      return;
    default:
      return;
  }
}

function isSquare(n: Node): boolean {
  return n.shape.length === 2 && n.shape[0] === n.shape[1];
}

/** The ranges that meet a set of needs (positive wins over away; unit narrows both). */
function domainFor(needs: ReadonlySet<Need>, square: boolean): Domain {
  const unit = needs.has('unit');
  const dominant = square && needs.has('dominant');
  if (needs.has('positive')) return { lo: unit ? 0.3 : 0.5, hi: unit ? 0.9 : 2, signed: false, dominant };
  if (needs.has('away')) return { lo: 0.3, hi: unit ? 0.9 : 1.5, signed: true, dominant };
  if (unit) return { lo: -0.9, hi: 0.9, signed: false, dominant };
  return { lo: -1, hi: 1, signed: false, dominant };
}
