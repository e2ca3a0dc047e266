/**
 * Numeric values: row-major Float64Array with a shape ([] scalar, [n] vector, [m, n] matrix, and
 * higher for derivatives). Conversion from and to the JSON layout (nested arrays, vectors 1-D).
 */
import { inputError } from './errors.js';

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export type NestedArray = number | NestedArray[];

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function zerosTensor(shape: readonly number[]): Tensor {
  return { shape: [...shape], data: new Float64Array(sizeOf(shape)) };
}

/** Reads a JSON value (number, array, array of rows, nested arrays) into a tensor. */
export function fromNested(v: unknown, what: string): Tensor {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw inputError(`${what}: ${v} is not a finite number`);
    return { shape: [], data: Float64Array.of(v) };
  }
  if (!Array.isArray(v)) throw inputError(`${what}: expected a number or an array, got ${describeJson(v)}`);
  const shape: number[] = [];
  let probe: unknown = v;
  while (Array.isArray(probe)) {
    if (probe.length === 0) throw inputError(`${what}: empty array`);
    shape.push(probe.length);
    probe = probe[0];
  }
  const data = new Float64Array(sizeOf(shape));
  let k = 0;
  const walk = (x: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw inputError(`${what}${path}: expected a finite number, got ${describeJson(x)}`);
      data[k++] = x;
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth])
      throw inputError(`${what}${path}: rows of different lengths (expected ${shape[depth]} entries)`);
    x.forEach((y, i) => walk(y, depth + 1, `${path}[${i}]`));
  };
  walk(v, 0, '');
  return { shape, data };
}

function describeJson(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'string') return `the string ${JSON.stringify(x.length > 20 ? x.slice(0, 20) + '…' : x)}`;
  return typeof x === 'object' ? 'an object' : String(x);
}

export function toNested(t: Tensor): NestedArray {
  if (t.shape.length === 0) return t.data[0]!;
  const build = (depth: number, offset: number): NestedArray[] => {
    const n = t.shape[depth]!;
    const stride = sizeOf(t.shape.slice(depth + 1));
    const out: NestedArray[] = [];
    for (let i = 0; i < n; i++) out.push(depth + 1 === t.shape.length ? t.data[offset + i]! : build(depth + 1, offset + i * stride));
    return out;
  };
  return build(0, 0);
}
