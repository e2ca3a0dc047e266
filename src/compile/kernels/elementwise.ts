/**
 * Element-wise kernels over contiguous runs. out may be the same run as an
 * input (in place); partially overlapping runs are not supported.
 */

/** out = x .* y (n entries). */
export function hadamard(
  n: number,
  x: Float64Array,
  xOff: number,
  y: Float64Array,
  yOff: number,
  out: Float64Array,
  outOff: number,
): void {
  for (let i = 0; i < n; i++) out[outOff + i] = x[xOff + i] * y[yOff + i];
}

/** The unary functions mapUnary knows, in a fixed order. */
export const UNARY = [
  'neg',
  'exp',
  'log',
  'sin',
  'cos',
  'tan',
  'arcsin',
  'arccos',
  'arctan',
  'tanh',
  'abs',
  'sign',
  'relu',
  'sqrt',
  'sigmoid',
  'softplus',
  'logsigmoid',
  'negsoftplus',
  'recip',
  'square',
] as const;

export type UnaryFn = (typeof UNARY)[number];

/** Scalar versions of the UNARY functions, with the same semantics as mapUnary. */
export const unaryScalar: { readonly [K in UnaryFn]: (x: number) => number } = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  arcsin: Math.asin,
  arccos: Math.acos,
  arctan: Math.atan,
  tanh: Math.tanh,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN),
  relu: (x) => (x > 0 ? x : x === x ? 0 : x),
  sqrt: Math.sqrt,
  sigmoid: sigmoid,
  softplus: softplus,
  logsigmoid: logSigmoid,
  negsoftplus: (x) => -softplus(x),
  recip: (x) => 1 / x,
  square: (x) => x * x,
};

/** 1/(1+exp(-x)), without overflow for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(1+exp(x)) = max(x,0) + log1p(exp(-|x|)), without overflow. */
export function softplus(x: number): number {
  return (x > 0 ? x : 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|)): -800, not log(0), at x = -800. */
export function logSigmoid(x: number): number {
  return (x < 0 ? x : 0) - Math.log1p(Math.exp(-Math.abs(x)));
}

/**
 * log Σ exp(x_i) over x[off .. off + n), as m + log Σ exp(x_i − m) with m the largest entry: no
 * exp overflows, and the largest term is 1, so the sum does not underflow to 0 either. ±∞ and NaN
 * come out as log Σ exp does (an entry +∞ gives +∞; all −∞ give −∞).
 */
export function logSumExp(x: Float64Array, off: number, n: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[off + i]!;
    if (Number.isNaN(v)) return NaN;
    if (v > m) m = v;
  }
  if (!Number.isFinite(m)) return m;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[off + i]! - m);
  return m + Math.log(s);
}

/**
 * out_i = f(x_i) for i < n. One tight loop per function: the switch is
 * outside the loop. sign(0) = 0, relu(x) = max(x, 0), NaN propagates.
 */
export function mapUnary(
  fn: UnaryFn,
  n: number,
  x: Float64Array,
  xOff: number,
  out: Float64Array,
  outOff: number,
): void {
  const d = outOff - xOff;
  const e = xOff + n;
  switch (fn) {
    case 'neg':
      for (let i = xOff; i < e; i++) out[i + d] = -x[i];
      return;
    case 'exp':
      for (let i = xOff; i < e; i++) out[i + d] = Math.exp(x[i]);
      return;
    case 'log':
      for (let i = xOff; i < e; i++) out[i + d] = Math.log(x[i]);
      return;
    case 'sin':
      for (let i = xOff; i < e; i++) out[i + d] = Math.sin(x[i]);
      return;
    case 'cos':
      for (let i = xOff; i < e; i++) out[i + d] = Math.cos(x[i]);
      return;
    case 'tan':
      for (let i = xOff; i < e; i++) out[i + d] = Math.tan(x[i]);
      return;
    case 'arcsin':
      for (let i = xOff; i < e; i++) out[i + d] = Math.asin(x[i]);
      return;
    case 'arccos':
      for (let i = xOff; i < e; i++) out[i + d] = Math.acos(x[i]);
      return;
    case 'arctan':
      for (let i = xOff; i < e; i++) out[i + d] = Math.atan(x[i]);
      return;
    case 'tanh':
      for (let i = xOff; i < e; i++) out[i + d] = Math.tanh(x[i]);
      return;
    case 'abs':
      for (let i = xOff; i < e; i++) out[i + d] = Math.abs(x[i]);
      return;
    case 'sign':
      for (let i = xOff; i < e; i++) {
        const v = x[i];
        out[i + d] = v > 0 ? 1 : v < 0 ? -1 : v === 0 ? 0 : NaN;
      }
      return;
    case 'relu':
      for (let i = xOff; i < e; i++) {
        const v = x[i];
        out[i + d] = v > 0 ? v : v === v ? 0 : v;
      }
      return;
    case 'sqrt':
      for (let i = xOff; i < e; i++) out[i + d] = Math.sqrt(x[i]);
      return;
    case 'sigmoid':
      for (let i = xOff; i < e; i++) {
        const v = x[i];
        if (v >= 0) {
          out[i + d] = 1 / (1 + Math.exp(-v));
        } else {
          const t = Math.exp(v);
          out[i + d] = t / (1 + t);
        }
      }
      return;
    case 'softplus':
      for (let i = xOff; i < e; i++) {
        const v = x[i];
        out[i + d] = (v > 0 ? v : 0) + Math.log1p(Math.exp(-Math.abs(v)));
      }
      return;
    case 'logsigmoid':
      for (let i = xOff; i < e; i++) {
        const v = x[i];
        out[i + d] = (v < 0 ? v : 0) - Math.log1p(Math.exp(-Math.abs(v)));
      }
      return;
    case 'negsoftplus':
      for (let i = xOff; i < e; i++) {
        const v = x[i];
        out[i + d] = -((v > 0 ? v : 0) + Math.log1p(Math.exp(-Math.abs(v))));
      }
      return;
    case 'recip':
      for (let i = xOff; i < e; i++) out[i + d] = 1 / x[i];
      return;
    case 'square':
      for (let i = xOff; i < e; i++) {
        const v = x[i];
        out[i + d] = v * v;
      }
      return;
    default: {
      const never: never = fn;
      throw new Error(`mapUnary: unknown function ${String(never)}`);
    }
  }
}

/**
 * out = x .^ p. Fast paths: p = 0 (all ones, like Math.pow), 1, 2, -1, 0.5
 * (Math.sqrt), -0.5 (1/Math.sqrt), other integers with |p| ≤ 64 by binary
 * powering (a few ulps from Math.pow); everything else uses Math.pow.
 * Note: the 0.5 / -0.5 paths follow Math.sqrt, so (-Infinity).^0.5 is NaN
 * (Math.pow gives Infinity) and (-0).^0.5 is -0.
 */
export function powScalar(
  n: number,
  x: Float64Array,
  xOff: number,
  p: number,
  out: Float64Array,
  outOff: number,
): void {
  const d = outOff - xOff;
  const e = xOff + n;
  if (p === 0) {
    for (let i = xOff; i < e; i++) out[i + d] = 1;
  } else if (p === 1) {
    for (let i = xOff; i < e; i++) out[i + d] = x[i];
  } else if (p === 2) {
    for (let i = xOff; i < e; i++) {
      const v = x[i];
      out[i + d] = v * v;
    }
  } else if (p === -1) {
    for (let i = xOff; i < e; i++) out[i + d] = 1 / x[i];
  } else if (p === 0.5) {
    for (let i = xOff; i < e; i++) out[i + d] = Math.sqrt(x[i]);
  } else if (p === -0.5) {
    for (let i = xOff; i < e; i++) out[i + d] = 1 / Math.sqrt(x[i]);
  } else if (p === 3) {
    for (let i = xOff; i < e; i++) {
      const v = x[i];
      out[i + d] = v * v * v;
    }
  } else if (Number.isInteger(p) && Math.abs(p) <= 64) {
    const q = Math.abs(p);
    const neg = p < 0;
    for (let i = xOff; i < e; i++) {
      let b = x[i];
      let r = 1;
      for (let k = q; ; ) {
        if (k & 1) r *= b;
        k >>>= 1;
        if (k === 0) break;
        b *= b;
      }
      out[i + d] = neg ? 1 / r : r;
    }
  } else {
    for (let i = xOff; i < e; i++) out[i + d] = Math.pow(x[i], p);
  }
}

/** out = x .^ y element-wise (Math.pow). */
export function powElementwise(
  n: number,
  x: Float64Array,
  xOff: number,
  y: Float64Array,
  yOff: number,
  out: Float64Array,
  outOff: number,
): void {
  for (let i = 0; i < n; i++) out[outOff + i] = Math.pow(x[xOff + i], y[yOff + i]);
}
