/**
 * Matrix powers by repeated squaring on gemm, the bits of k read from the top (A^(2e) = A^e·A^e,
 * A^(2e+1) = A^(2e)·A), and the ordered Fréchet terms of A^k,
 *   P(A, k; E_1..E_m) = Σ_{a_0+…+a_m = k−m} A^{a_0} E_1 A^{a_1} ⋯ E_m A^{a_m},
 * by the same squaring on the block upper-bidiagonal M = [[A, E_1, 0, …], [0, A, E_2, …], …, [0, …, A]]:
 * block (s, t) of M^e is P(A, e; E_{s+1}..E_t), so only the blocks above the diagonal are kept and
 *   (M^(a+b))_st = A^a (M^b)_st + (M^a)_st A^b + Σ_{s<u<t} (M^a)_su (M^b)_ut.
 * The diagonal A^e is the same for every batch entry of the directions and is computed once.
 * Row-major, explicit offsets; scratch is module-level and grows on demand.
 */
import { gemm } from './gemm.js';

let scratch = new Float64Array(0);
function ensure(len: number): Float64Array {
  if (scratch.length < len) scratch = new Float64Array(len);
  return scratch;
}

/** C = A·B (n×n, contiguous) at offsets of one buffer or several. */
function mm(n: number, a: Float64Array, aOff: number, b: Float64Array, bOff: number, c: Float64Array, cOff: number, beta: number): void {
  gemm(false, false, n, n, n, 1, a, aOff, n, b, bOff, n, beta, c, cOff, n);
}

/** The bits of k ≥ 1 after the leading one, from the top. */
function lowerBits(k: number): boolean[] {
  return k.toString(2).slice(1).split('').map((c) => c === '1');
}

/** out = A^k for k ≥ 1 (n×n). */
export function matPow(n: number, k: number, A: Float64Array, aOff: number, out: Float64Array, outOff: number): void {
  const nn = n * n;
  const s = ensure(2 * nn);
  let cur = 0;
  s.set(A.subarray(aOff, aOff + nn), cur);
  for (const bit of lowerBits(k)) {
    mm(n, s, cur, s, cur, s, nn - cur, 0);
    cur = nn - cur;
    if (bit) {
      mm(n, s, cur, A, aOff, s, nn - cur, 0);
      cur = nn - cur;
    }
  }
  out.set(s.subarray(cur, cur + nn), outOff);
}

/** A direction E_t: entry (i, j, b) at off + (i·n + j)·size + b, b < size (the product of its batch sizes). */
export interface FrechetDirection {
  readonly data: Float64Array;
  readonly off: number;
  readonly size: number;
}

/**
 * out[i, j, b_1…, b_m] = P(A, k; E_1..E_m)[i, j] at the batch entries b_t of the directions (k > m ≥ 1),
 * row-major with the batch entries of the last direction fastest.
 */
export function matPowFrechet(
  n: number,
  k: number,
  A: Float64Array,
  aOff: number,
  dirs: readonly FrechetDirection[],
  out: Float64Array,
  outOff: number,
): void {
  const m = dirs.length;
  const nn = n * n;
  const steps = lowerBits(k).flatMap((bit) => (bit ? ['square', 'times'] : ['square']));
  // Blocks (s, t), s < t, of one power: index of block (s, t) in a list of them.
  const blocks: [number, number][] = [];
  for (let s = 0; s < m; s++) for (let t = s + 1; t <= m; t++) blocks.push([s, t]);
  const index = (s: number, t: number): number => s * m - (s * (s - 1)) / 2 + (t - s - 1);
  const B = blocks.length;
  const total = dirs.reduce((p, d) => p * d.size, 1);
  // Scratch: the diagonal before each step, E slices, current and next blocks, liveness.
  const diagAt = 0;
  const eAt = diagAt + steps.length * nn;
  const curAt = eAt + m * nn;
  const nextAt = curAt + B * nn;
  const s = ensure(nextAt + B * nn);
  // Diagonal A^e before every step (shared by all batch entries).
  s.set(A.subarray(aOff, aOff + nn), diagAt);
  for (let q = 0; q + 1 < steps.length; q++) {
    const d = diagAt + q * nn;
    if (steps[q] === 'square') mm(n, s, d, s, d, s, d + nn, 0);
    else mm(n, s, d, A, aOff, s, d + nn, 0);
  }
  const live = new Uint8Array(B);
  const nextLive = new Uint8Array(B);
  const at = new Array<number>(m).fill(0);
  for (let b = 0; b < total; b++) {
    for (let t = m - 1, rest = b; t >= 0; t--) {
      at[t] = rest % dirs[t]!.size;
      rest = Math.floor(rest / dirs[t]!.size);
    }
    for (let t = 0; t < m; t++) {
      const d = dirs[t]!;
      for (let ij = 0; ij < nn; ij++) s[eAt + t * nn + ij] = d.data[d.off + ij * d.size + at[t]!]!;
    }
    // M^1: the blocks next to the diagonal are the directions.
    live.fill(0);
    for (let t = 0; t < m; t++) {
      const c = curAt + index(t, t + 1) * nn;
      s.copyWithin(c, eAt + t * nn, eAt + (t + 1) * nn);
      live[index(t, t + 1)] = 1;
    }
    let cur = curAt;
    let next = nextAt;
    for (let q = 0; q < steps.length; q++) {
      const D = diagAt + q * nn;
      nextLive.fill(0);
      for (const [u, v] of blocks) {
        const o = next + index(u, v) * nn;
        let beta = 0;
        const add = (x: Float64Array, xo: number, y: Float64Array, yo: number): void => {
          mm(n, x, xo, y, yo, s, o, beta);
          beta = 1;
        };
        const X = (p: number, r: number): number => cur + index(p, r) * nn;
        if (steps[q] === 'square') {
          // (M^2e)_uv = A^e X_uv + X_uv A^e + Σ_{u<w<v} X_uw X_wv
          if (live[index(u, v)]) {
            add(s, D, s, X(u, v));
            add(s, X(u, v), s, D);
          }
          for (let w = u + 1; w < v; w++) if (live[index(u, w)] && live[index(w, v)]) add(s, X(u, w), s, X(w, v));
        } else {
          // (M^(e+1))_uv = X_uv A + X_u,v−1 E_v (A^e E_v when v = u + 1)
          if (live[index(u, v)]) add(s, X(u, v), A, aOff);
          if (v === u + 1) add(s, D, s, eAt + u * nn);
          else if (live[index(u, v - 1)]) add(s, X(u, v - 1), s, eAt + (v - 1) * nn);
        }
        nextLive[index(u, v)] = beta;
      }
      [cur, next] = [next, cur];
      live.set(nextLive);
    }
    const top = cur + index(0, m) * nn;
    for (let ij = 0; ij < nn; ij++) out[outOff + ij * total + b] = live[index(0, m)] ? s[top + ij]! : 0;
  }
}
