/**
 * Square matrices that test the singularity rule and the accuracy of inv, det and logdet: badly
 * scaled regular ones (diagonal, triangular, graded D1·M·D2 with D's from 1e-150 to 1e150, and
 * products of those), ill-conditioned regular ones with a known determinant (Hilbert matrices,
 * U·diag(σ)·V with σ down to 1e-12) and exactly singular ones (rank n−1, n−2, zero; also scaled by
 * powers of 2, which keeps them exactly singular). Each carries what an evaluator must return.
 */
import { mulberry32 } from '../../src/random.js';

export interface TestMatrix {
  readonly name: string;
  readonly n: number;
  /** Row-major entries. */
  readonly a: Float64Array;
  /** Null for a singular matrix; else sign(det) and log|det|, accurate to logTol (absolute). */
  readonly det: { readonly sign: number; readonly logAbs: number; readonly logTol: number } | null;
  /**
   * For a regular matrix: how far a computed inverse X is from A⁻¹, in a measure that does not
   * depend on how A is scaled, and the largest value that measure may take.
   */
  readonly inverseError?: (x: Float64Array) => number;
  readonly inverseTol?: number;
}

const EPS = Number.EPSILON;

function matmul(n: number, a: Float64Array, b: Float64Array): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * n + k]! * b[k * n + j]!;
  return c;
}

/** ‖M·Y − I‖_max. */
function residual(n: number, m: Float64Array, y: Float64Array): number {
  const p = matmul(n, m, y);
  let r = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) r = Math.max(r, Math.abs(p[i * n + j]! - (i === j ? 1 : 0)));
  return r;
}

/** Scale factors 10^k with k uniform in [-150, 150] and random signs. */
function scales(n: number, rand: () => number): number[] {
  return Array.from({ length: n }, () => (rand() < 0.5 ? -1 : 1) * 10 ** Math.round(-150 + 300 * rand()));
}

/**
 * A = D1·M·D2 for a well-conditioned M (and its known log|det M|): the inverse measure is
 * ‖M·(D2·X·D1) − I‖, which is ‖M·M⁻¹ − I‖ for the exact inverse whatever the scales.
 */
function graded(name: string, n: number, m: Float64Array, logDetM: number, signM: number, d1: number[], d2: number[], logTol = 1e-11): TestMatrix {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = d1[i]! * m[i * n + j]! * d2[j]!;
  let logAbs = logDetM;
  let sign = signM;
  for (const d of [...d1, ...d2]) {
    logAbs += Math.log(Math.abs(d));
    if (d < 0) sign = -sign;
  }
  const inverseError = (x: Float64Array): number => {
    const y = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) y[i * n + j] = d2[i]! * x[i * n + j]! * d1[j]!;
    return residual(n, m, y);
  };
  return { name, n, a, det: { sign, logAbs, logTol: logTol * Math.max(1, Math.abs(logAbs)) }, inverseError, inverseTol: 1e-12 * n };
}

/** log|det| and sign of a well-conditioned matrix, by Gaussian elimination with partial pivoting. */
function logDet(n: number, m: Float64Array): { sign: number; logAbs: number } {
  const w = Float64Array.from(m);
  let sign = 1;
  let logAbs = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(w[r * n + c]!) > Math.abs(w[p * n + c]!)) p = r;
    if (p !== c) {
      sign = -sign;
      for (let k = 0; k < n; k++) [w[p * n + k], w[c * n + k]] = [w[c * n + k]!, w[p * n + k]!];
    }
    const piv = w[c * n + c]!;
    if (piv < 0) sign = -sign;
    logAbs += Math.log(Math.abs(piv));
    for (let r = c + 1; r < n; r++) {
      const f = w[r * n + c]! / piv;
      for (let k = c; k < n; k++) w[r * n + k]! -= f * w[c * n + k]!;
    }
  }
  return { sign, logAbs };
}

/** Random entries in [-1, 1] plus ±(n + 1) on the diagonal: well conditioned. */
function wellConditioned(n: number, rand: () => number, triangular = false): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) m[i * n + j] = triangular && j < i ? 0 : i === j ? (rand() < 0.5 ? -1 : 1) * (n + 1 + rand()) : 2 * rand() - 1;
  return m;
}

/** Exact factorials and binomials for the Hilbert matrix's known inverse and determinant. */
function binom(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
  return r;
}

/** H_n (entries 1/(i+j+1)), with its exact inverse (integers) and det = c_n⁴/c_2n, c_n = Π_{i<n} i!. */
function hilbert(n: number): TestMatrix {
  const a = new Float64Array(n * n);
  const inv = new Float64Array(n * n);
  for (let i = 1; i <= n; i++)
    for (let j = 1; j <= n; j++) {
      a[(i - 1) * n + j - 1] = 1 / (i + j - 1);
      const v = BigInt(i + j - 1) * binom(n + i - 1, n - j) * binom(n + j - 1, n - i) * binom(i + j - 2, i - 1) ** 2n;
      inv[(i - 1) * n + j - 1] = Number((i + j) % 2 === 0 ? v : -v);
    }
  const fact = (k: number): bigint => (k <= 1 ? 1n : BigInt(k) * fact(k - 1));
  const c = (k: number): bigint => Array.from({ length: k }, (_, i) => fact(i)).reduce((x, y) => x * y, 1n);
  // det = c_n^4 / c_2n: log of a ratio of big integers through their decimal lengths.
  const log = (b: bigint): number => {
    const s = b.toString();
    return Math.log(Number(`0.${s.slice(0, 17)}`)) + s.length * Math.LN10;
  };
  const logAbs = 4 * log(c(n)) - log(c(2 * n));
  // The stored entries are rounded: the inverse of what is stored differs by about cond·eps.
  const cond = [1, 19.3, 524, 1.55e4, 4.77e5, 1.5e7, 4.75e8, 1.53e10][n - 1]!;
  let norm = 0;
  for (const v of inv) norm = Math.max(norm, Math.abs(v));
  return {
    name: `Hilbert ${n}`,
    n,
    a,
    det: { sign: 1, logAbs, logTol: 1e-14 * cond * n + 1e-13 },
    inverseError: (x) => {
      let r = 0;
      for (let i = 0; i < n * n; i++) r = Math.max(r, Math.abs(x[i]! - inv[i]!));
      return r / norm;
    },
    inverseTol: 100 * cond * EPS,
  };
}

/** An orthogonal matrix: modified Gram-Schmidt (twice) of random columns. */
function orthogonal(n: number, rand: () => number): Float64Array {
  const q = Float64Array.from({ length: n * n }, () => 2 * rand() - 1);
  for (let pass = 0; pass < 2; pass++)
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < j; k++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += q[i * n + j]! * q[i * n + k]!;
        for (let i = 0; i < n; i++) q[i * n + j]! -= d * q[i * n + k]!;
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += q[i * n + j]! ** 2;
      for (let i = 0; i < n; i++) q[i * n + j]! /= Math.sqrt(s);
    }
  return q;
}

/** U·diag(σ)·Vᵀ with σ from 1 down to 1e-12: condition 1e12, |det| = Π σ. */
function illConditioned(n: number, rand: () => number): TestMatrix {
  const u = orthogonal(n, rand);
  const v = orthogonal(n, rand);
  const sigma = Array.from({ length: n }, (_, i) => (n === 1 ? 1e-12 : 10 ** ((-12 * i) / (n - 1))));
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += u[i * n + k]! * sigma[k]! * v[j * n + k]!;
  const su = logDet(n, u).sign;
  const sv = logDet(n, v).sign;
  const cond = n === 1 ? 1 : 1e12;
  return {
    name: `U·diag(σ)·Vᵀ, σ down to 1e-12, n = ${n}`,
    n,
    a,
    det: { sign: su * sv, logAbs: sigma.reduce((s, x) => s + Math.log(x), 0), logTol: 10 * n * cond * EPS },
    inverseError: (x) => residual(n, x, a) / cond,
    inverseTol: 1e3 * n * EPS,
  };
}

/** An exactly singular matrix: X·Y with small integer X (n×r), Y (r×n), rows and columns scaled by powers of 2. */
function singular(n: number, r: number, rand: () => number, scaled: boolean): TestMatrix {
  const int = (): number => Math.floor(rand() * 7) - 3;
  const x = Array.from({ length: n * r }, int);
  const y = Array.from({ length: r * n }, int);
  const p2 = (): number => (scaled ? 2 ** Math.round(-400 + 800 * rand()) : 1);
  const d1 = Array.from({ length: n }, p2);
  const d2 = Array.from({ length: n }, p2);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += x[i * r + k]! * y[k * n + j]!;
      a[i * n + j] = d1[i]! * s * d2[j]!;
    }
  return { name: `rank ≤ ${r} of ${n}${scaled ? ', scaled by 2^±400' : ''}`, n, a, det: null };
}

/**
 * A sparse integer matrix P·T (T upper triangular, diagonal ±1…±3, a few off-diagonal entries),
 * rows and columns scaled by 2^±60: regular with det = ±Π diag(T)·Π scales, exactly. Its zeros
 * defeat a one-pass equilibration (rows, then columns), which can leave tiny pivots behind.
 */
function sparseScaled(n: number, rand: () => number): TestMatrix {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    t[i * n + i] = (rand() < 0.5 ? -1 : 1) * (1 + Math.floor(3 * rand()));
    for (let j = i + 1; j < n; j++) if (rand() < 0.3) t[i * n + j] = Math.floor(9 * rand()) - 4;
  }
  const perm = Array.from({ length: n }, (_, i) => i).sort(() => rand() - 0.5);
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m[perm[i]! * n + j] = t[i * n + j]!;
  const d = logDet(n, m);
  const p2 = (): number[] => Array.from({ length: n }, () => 2 ** Math.round(-60 + 120 * rand()));
  return graded(`sparse integer, scaled by 2^±60, n = ${n}`, n, m, d.logAbs, d.sign, p2(), p2());
}

/** The whole suite, sizes 1 to 8. */
export function testMatrices(seed = 1): TestMatrix[] {
  const rand = mulberry32(seed);
  const out: TestMatrix[] = [];
  for (let n = 1; n <= 8; n++) {
    const id = new Float64Array(n * n);
    for (let i = 0; i < n; i++) id[i * n + i] = 1;
    const ones = Array.from({ length: n }, () => 1);
    out.push(graded(`diagonal 1e-150…1e150, n = ${n}`, n, id, 0, 1, scales(n, rand), ones));
    if (n === 2) out.push(graded('diag(exp(30), exp(-30))', 2, id, 0, 1, [Math.exp(30), Math.exp(-30)], [1, 1]));
    const t = wellConditioned(n, rand, true);
    const tDet = logDet(n, t);
    out.push(graded(`upper triangular, rows scaled 1e-150…1e150, n = ${n}`, n, t, tDet.logAbs, tDet.sign, scales(n, rand), ones));
    const m = wellConditioned(n, rand);
    const mDet = logDet(n, m);
    out.push(graded(`graded D1·M·D2, n = ${n}`, n, m, mDet.logAbs, mDet.sign, scales(n, rand), scales(n, rand)));
    // A product of graded matrices, (D1·M)·(M2·D2), is graded again.
    const d2 = scales(n, rand);
    const mm = new Float64Array(n * n);
    const m2 = wellConditioned(n, rand);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) mm[i * n + j] += m[i * n + k]! * m2[k * n + j]!;
    const mmDet = logDet(n, mm);
    out.push(graded(`product of graded matrices, n = ${n}`, n, mm, mmDet.logAbs, mmDet.sign, scales(n, rand), d2));
    out.push(sparseScaled(n, rand));
    out.push(hilbert(n));
    out.push(illConditioned(n, rand));
    out.push({ name: `zero ${n}×${n}`, n, a: new Float64Array(n * n), det: null });
    if (n >= 2) {
      out.push(singular(n, n - 1, rand, false));
      out.push(singular(n, n - 1, rand, true));
    }
    if (n >= 3) {
      out.push(singular(n, n - 2, rand, false));
      out.push(singular(n, n - 2, rand, true));
    }
  }
  return out;
}

/**
 * A real n×n matrix of rank r (U·V with entries uniform in (−1, 1)) with every entry then moved
 * by a relative 1e-15: a rounding away from rank r, for the adjugate kernels' tests.
 */
export function nearRankMatrix(n: number, r: number, rand: () => number): Float64Array {
  const u = Array.from({ length: n * r }, () => 2 * rand() - 1);
  const v = Array.from({ length: r * n }, () => 2 * rand() - 1);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += u[i * r + k]! * v[k * n + j]!;
      a[i * n + j] = s * (1 + 1e-15 * (2 * rand() - 1));
    }
  return a;
}
