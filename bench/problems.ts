/**
 * The benchmark problems, each defined three times over the same inputs: as a ricci expression,
 * as a TensorFlow.js function and as a jax-js function (the peers compute the Hessian by autodiff).
 * The NumPy closed forms and the PyTorch functions of the same problems are in peers.py.
 */
import type * as TF from '@tensorflow/tfjs';
import { mulberry32 } from '../src/random.js';

export interface Inputs {
  /** Values by variable name: number[] data with a shape. */
  readonly values: Record<string, { shape: number[]; data: Float64Array }>;
  /** The variable differentiated by. */
  readonly wrt: string;
}

export interface Problem {
  readonly id: string;
  readonly title: string;
  readonly expr: string;
  readonly wrt: string;
  readonly let?: Record<string, string>;
  /** Sizes to run. */
  readonly sizes: readonly number[];
  inputs(n: number, rand: () => number): Inputs;
  /** f in TensorFlow.js, with the non-wrt inputs bound. */
  tf(tf: typeof TF, inputs: Inputs): (x: TF.Tensor) => TF.Scalar;
  /** f in jax-js of the flattened wrt variable (jax-js's hessian takes 1-D inputs; ownership-passing style). */
  jax(jax: any, inputs: Inputs): (x: any) => any;
}

function rnd(n: number, rand: () => number): Float64Array {
  return Float64Array.from({ length: n }, () => rand() - 0.5);
}

export const rng = mulberry32;

const tfT = (tf: typeof TF, v: { shape: number[]; data: Float64Array }): TF.Tensor => tf.tensor(Float32Array.from(v.data), v.shape);
const jaxA = (jax: any, v: { shape: number[]; data: Float64Array }): any => jax.numpy.array(v.data, { dtype: jax.numpy.float64 }).reshape(v.shape);

export const PROBLEMS: readonly Problem[] = [
  {
    id: 'quadratic',
    title: "quadratic form x'*A*x",
    expr: "x'*A*x",
    wrt: 'x',
    sizes: [100, 300, 1000],
    inputs: (n, rand) => ({ wrt: 'x', values: { A: { shape: [n, n], data: rnd(n * n, rand) }, x: { shape: [n], data: rnd(n, rand) } } }),
    tf: (tf, inp) => {
      const A = tfT(tf, inp.values.A!);
      const n = inp.values.x!.shape[0]!;
      return (x) => tf.sum(tf.mul(x, tf.matMul(A, x.reshape([n, 1])).reshape([n]))) as TF.Scalar;
    },
    jax: (jax, inp) => {
      const np = jax.numpy;
      const A = jaxA(jax, inp.values.A!);
      return (x: any) => np.dot(x.ref, np.dot(A.ref, x));
    },
  },
  {
    id: 'logistic',
    title: 'logistic regression sum(log(exp(-y.*(X*w)) + vector(1))), m = 2n',
    expr: 'sum(log(exp(-y.*(X*w)) + vector(1)))',
    wrt: 'w',
    sizes: [100, 300, 1000],
    inputs: (n, rand) => {
      const m = 2 * n;
      return {
        wrt: 'w',
        values: {
          X: { shape: [m, n], data: rnd(m * n, rand) },
          y: { shape: [m], data: Float64Array.from({ length: m }, () => (rand() < 0.5 ? -1 : 1)) },
          w: { shape: [n], data: rnd(n, rand) },
        },
      };
    },
    tf: (tf, inp) => {
      const X = tfT(tf, inp.values.X!);
      const y = tfT(tf, inp.values.y!);
      const n = inp.values.w!.shape[0]!;
      // log(exp(u) + 1) as softplus(u): TF.js differentiates exp through its saved output, which is
      // right for gradients but gives wrong second derivatives (checked against ricci and finite
      // differences); softplus's gradient is computed from its input and differentiates correctly.
      return (w) => tf.sum(tf.softplus(tf.neg(tf.mul(y, tf.matMul(X, w.reshape([n, 1])).reshape([-1]))))) as TF.Scalar;
    },
    jax: (jax, inp) => {
      const np = jax.numpy;
      const X = jaxA(jax, inp.values.X!);
      const y = jaxA(jax, inp.values.y!);
      return (w: any) => np.sum(np.log(np.add(np.exp(np.negative(np.multiply(y.ref, np.dot(X.ref, w)))), 1)));
    },
  },
  {
    id: 'factorization',
    title: "matrix factorization norm2(T - U*V')^2 by U (T n×n, k = 10)",
    expr: "norm2(T - U*V')^2",
    wrt: 'U',
    sizes: [100, 300, 1000],
    inputs: (n, rand) => {
      const k = 10;
      return {
        wrt: 'U',
        values: {
          T: { shape: [n, n], data: rnd(n * n, rand) },
          U: { shape: [n, k], data: rnd(n * k, rand) },
          V: { shape: [n, k], data: rnd(n * k, rand) },
        },
      };
    },
    tf: (tf, inp) => {
      const T = tfT(tf, inp.values.T!);
      const V = tfT(tf, inp.values.V!);
      const shape = inp.values.U!.shape as [number, number];
      return (u) => {
        const R = tf.sub(T, tf.matMul(u.reshape(shape), V, false, true));
        return tf.sum(tf.mul(R, R)) as TF.Scalar;
      };
    },
    jax: (jax, inp) => {
      const np = jax.numpy;
      const T = jaxA(jax, inp.values.T!);
      const V = jaxA(jax, inp.values.V!);
      const shape = inp.values.U!.shape;
      return (u: any) => {
        const R = np.subtract(T.ref, np.dot(u.reshape(shape), np.transpose(V.ref)));
        return np.sum(np.multiply(R.ref, R));
      };
    },
  },
  {
    id: 'mds',
    title: "multidimensional scaling norm2(diag(W*W')*vector(1)' + vector(1)*diag(W*W')' - 2*W*W' - D)^2 by W (N×2)",
    expr: "norm2(diag(W*W')*vector(1)' + vector(1)*diag(W*W')' - 2*W*W' - D)^2",
    wrt: 'W',
    let: { D: 'symmetric matrix' },
    sizes: [100, 300, 1000],
    inputs: (n, rand) => {
      const D = rnd(n * n, rand);
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) D[j * n + i] = D[i * n + j]!;
      return { wrt: 'W', values: { W: { shape: [n, 2], data: rnd(n * 2, rand) }, D: { shape: [n, n], data: D } } };
    },
    tf: (tf, inp) => {
      const D = tfT(tf, inp.values.D!);
      const shape = inp.values.W!.shape as [number, number];
      const N = shape[0];
      return (w) => {
        const W = w.reshape(shape);
        const G = tf.matMul(W, W, false, true);
        const d = tf.sum(tf.mul(W, W), 1);
        const R = tf.sub(tf.sub(tf.add(d.reshape([N, 1]), d.reshape([1, N])), tf.mul(G, 2)), D);
        return tf.sum(tf.mul(R, R)) as TF.Scalar;
      };
    },
    jax: (jax, inp) => {
      const np = jax.numpy;
      const D = jaxA(jax, inp.values.D!);
      const N = inp.values.W!.shape[0]!;
      const shape = inp.values.W!.shape;
      return (w: any) => {
        const W = w.reshape(shape);
        const G = np.dot(W.ref, np.transpose(W.ref));
        const d = np.sum(np.multiply(W.ref, W), 1);
        const R = np.subtract(np.subtract(np.add(d.ref.reshape([N, 1]), d.reshape([1, N])), np.multiply(G, 2)), D.ref);
        return np.sum(np.multiply(R.ref, R));
      };
    },
  },
];
