/**
 * Numeric helpers for tests: a seeded random source, random points drawn as a corpus case's
 * `domain` says, central finite differences (5-point stencils) and relative errors.
 */
import { type Tensor, sizeOf } from '../../src/tensor.js';
import { mulberry32 } from '../../src/random.js';

export type Domain = 'positive' | 'spd' | 'invertible' | 'sign' | 'unit' | 'any' | 'away';

export const rng = mulberry32;

/** A point with every variable of `shapes` drawn from seed ('any' domain), times scale. */
export function scaledPoint(shapes: Readonly<Record<string, readonly number[]>>, seed: number, scale = 1): Map<string, Tensor> {
  const rand = rng(seed);
  const m = new Map<string, Tensor>();
  for (const [k, s] of Object.entries(shapes)) {
    const t = randomTensor(s, 'any', rand);
    m.set(k, { shape: t.shape, data: t.data.map((v) => v * scale) });
  }
  return m;
}

export function randomTensor(shape: readonly number[], domain: Domain, rand: () => number, symmetric = false): Tensor {
  const n = sizeOf(shape);
  const data = new Float64Array(n);
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rand();
  switch (domain) {
    case 'positive':
      for (let i = 0; i < n; i++) data[i] = u(0.5, 2);
      break;
    case 'sign':
      for (let i = 0; i < n; i++) data[i] = rand() < 0.5 ? -1 : 1;
      break;
    case 'unit':
      for (let i = 0; i < n; i++) data[i] = u(-0.9, 0.9);
      break;
    case 'away': // either sign, away from 0 (for abs, sign, relu)
      for (let i = 0; i < n; i++) data[i] = (rand() < 0.5 ? -1 : 1) * u(0.3, 1.5);
      break;
    case 'spd': {
      const m = shape[0]!;
      const b = Array.from({ length: m * m }, () => u(-1, 1));
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) {
          let s = i === j ? 1 : 0;
          for (let k = 0; k < m; k++) s += (b[i * m + k]! * b[j * m + k]!) / m;
          data[i * m + j] = s;
        }
      return { shape: [...shape], data };
    }
    case 'invertible': {
      const m = shape[0]!;
      for (let i = 0; i < n; i++) data[i] = u(-1, 1);
      for (let i = 0; i < m; i++) data[i * m + i] += (rand() < 0.5 ? -1 : 1) * (m + 1);
      break;
    }
    case 'any':
      for (let i = 0; i < n; i++) data[i] = u(-1, 1);
      break;
  }
  if (symmetric && shape.length === 2) {
    const m = shape[0]!;
    for (let i = 0; i < m; i++) for (let j = 0; j < i; j++) data[j * m + i] = data[i * m + j]!;
  }
  return { shape: [...shape], data };
}

const OFFSETS = [-2, -1, 1, 2];
const WEIGHTS = [1 / 12, -8 / 12, 8 / 12, -1 / 12];

export function stepFor(x: number, scale = 1): number {
  return 1e-3 * scale * Math.max(1, Math.abs(x));
}

/** Jacobian of a tensor-valued f with respect to the variable `wrt`, layout shape(f) ++ shape(wrt). */
export function fdJacobian(f: (values: Map<string, Tensor>) => Tensor, values: Map<string, Tensor>, wrt: string, scale = 1): Tensor {
  const x = values.get(wrt)!;
  const n = x.data.length;
  let out: Float64Array | undefined;
  let fshape: readonly number[] = [];
  for (let a = 0; a < n; a++) {
    const h = stepFor(x.data[a]!, scale);
    let acc: Float64Array | undefined;
    OFFSETS.forEach((o, k) => {
      const d = Float64Array.from(x.data);
      d[a] += o * h;
      const v = f(new Map(values).set(wrt, { shape: x.shape, data: d }));
      fshape = v.shape;
      if (!acc) acc = new Float64Array(v.data.length);
      for (let i = 0; i < v.data.length; i++) acc[i] += (WEIGHTS[k]! * v.data[i]!) / h;
    });
    if (!out) out = new Float64Array(acc!.length * n);
    for (let i = 0; i < acc!.length; i++) out[i * n + a] = acc![i]!;
  }
  return { shape: [...fshape, ...x.shape], data: out! };
}

/** Hessian of a scalar f by nested 5-point stencils, layout shape(wrt) ++ shape(wrt). */
export function fdHessian(f: (values: Map<string, Tensor>) => number, values: Map<string, Tensor>, wrt: string, scale = 1): Tensor {
  const x = values.get(wrt)!;
  const n = x.data.length;
  const out = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      const ha = stepFor(x.data[a]!, scale);
      const hb = stepFor(x.data[b]!, scale);
      let s = 0;
      OFFSETS.forEach((oa, ka) =>
        OFFSETS.forEach((ob, kb) => {
          const d = Float64Array.from(x.data);
          d[a] += oa * ha;
          d[b] += ob * hb;
          s += WEIGHTS[ka]! * WEIGHTS[kb]! * f(new Map(values).set(wrt, { shape: x.shape, data: d }));
        }),
      );
      out[a * n + b] = out[b * n + a] = s / (ha * hb);
    }
  }
  return { shape: [...x.shape, ...x.shape], data: out };
}

/** ‖a - b‖ / max(‖b‖, floor): relative error, absolute below the floor. */
export function relErr(a: Tensor | Float64Array, b: Tensor | Float64Array, floor = 1): number {
  const x = a instanceof Float64Array ? a : a.data;
  const y = b instanceof Float64Array ? b : b.data;
  if (x.length !== y.length) return Infinity;
  let d = 0;
  let nb = 0;
  for (let i = 0; i < x.length; i++) {
    d += (x[i]! - y[i]!) ** 2;
    nb += y[i]! ** 2;
  }
  if (!Number.isFinite(d)) return Infinity;
  return Math.sqrt(d) / Math.max(Math.sqrt(nb), floor);
}

/**
 * Finite differences at two step sizes; undefined when they disagree by more than `tol`, which
 * means the point is too close to a singularity for finite differences to be trusted there.
 */
export function trustedFd(fd: (scale: number) => Tensor, tol: number, floor: number): Tensor | undefined {
  const a = fd(1);
  const b = fd(0.5);
  return relErr(a, b, floor) < tol ? b : undefined;
}

export { vectorize } from '../../fuzz/numeric.js';
