/**
 * Values handed to evaluators by library users: a number (scalar), a Float64Array or number[]
 * (vector), a number[][] or { shape: [m, n], data } (matrix, row-major).
 */
import { inputError } from './errors.js';
import { type Tensor, fromNested, sizeOf } from './tensor.js';

export type Value = number | Float64Array | readonly number[] | readonly (readonly number[])[] | { readonly shape: readonly number[]; readonly data: Float64Array | readonly number[] };

export type Values = Readonly<Record<string, Value>>;

export function toTensor(v: Value, name: string): Tensor {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw inputError(`${name}: ${v} is not a finite number`);
    return { shape: [], data: Float64Array.of(v) };
  }
  if (v instanceof Float64Array) return { shape: [v.length], data: v };
  if (Array.isArray(v)) return fromNested(v, name);
  if (typeof v === 'object' && v !== null && 'shape' in v && 'data' in v) {
    const shape = [...v.shape];
    if (!shape.every((d) => Number.isInteger(d) && d > 0)) throw inputError(`${name}: shape must be positive integers`);
    const data = v.data instanceof Float64Array ? v.data : Float64Array.from(v.data);
    if (data.length !== sizeOf(shape)) throw inputError(`${name}: shape ${shape.join('×')} needs ${sizeOf(shape)} entries, data has ${data.length}`);
    return { shape, data };
  }
  throw inputError(`${name}: expected a number, an array, a Float64Array or { shape, data }`);
}

export function toTensors(values: Values): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  if (typeof values !== 'object' || values === null) throw inputError('values must be an object from variable names to values');
  for (const [k, v] of Object.entries(values)) out.set(k, toTensor(v, k));
  return out;
}
