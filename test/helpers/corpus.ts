/** The acceptance corpus and what every test needs from a case. */
import { readFileSync } from 'node:fs';
import type { Domain } from './numeric.js';
import { randomTensor } from './numeric.js';
import type { Tensor } from '../../src/tensor.js';

export interface CorpusCase {
  readonly id: string;
  readonly expr: string;
  readonly wrt: string;
  readonly order: number;
  readonly shapes: Readonly<Record<string, readonly number[]>>;
  readonly symmetric?: readonly string[];
  readonly domain?: Readonly<Record<string, Domain>>;
  readonly expect: string | null;
  /** printing.json: 'vec' for the vec layout. */
  readonly layout?: 'default' | 'vec';
  /** printing.json: how many named parts the printed form has at least. */
  readonly temporaries?: number;
}

const casesOf = (file: string): CorpusCase[] =>
  (JSON.parse(readFileSync(new URL(`../corpus/${file}`, import.meta.url), 'utf8')) as { cases: CorpusCase[] }).cases;

/**
 * The acceptance corpus (derivatives.json, identical to ../shared/corpus) followed by the project's
 * own cases of the same kind (powers.json: matrix powers), which every corpus test runs alike.
 */
export const CORPUS: readonly CorpusCase[] = [...casesOf('derivatives.json'), ...casesOf('powers.json'), ...casesOf('softmax.json')];

/** The printing corpus (issue 9): closed forms with temporaries, sizes, kron and vec. */
export const PRINTING: readonly CorpusCase[] = (
  JSON.parse(readFileSync(new URL('../corpus/printing.json', import.meta.url), 'utf8')) as { cases: CorpusCase[] }
).cases;

export function declarations(c: CorpusCase): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of c.symmetric ?? []) out[s] = 'symmetric matrix';
  return out;
}

export function randomPoint(c: CorpusCase, rand: () => number): Map<string, Tensor> {
  const values = new Map<string, Tensor>();
  for (const [name, shape] of Object.entries(c.shapes))
    values.set(name, randomTensor(shape, c.domain?.[name] ?? 'any', rand, (c.symmetric ?? []).includes(name)));
  return values;
}

export function pointJson(values: ReadonlyMap<string, Tensor>): string {
  const obj: Record<string, unknown> = {};
  for (const [k, v] of values) {
    if (v.shape.length === 0) obj[k] = v.data[0];
    else if (v.shape.length === 1) obj[k] = Array.from(v.data);
    else {
      const [m, n] = v.shape as [number, number];
      obj[k] = Array.from({ length: m }, (_, i) => Array.from(v.data.subarray(i * n, i * n + n)));
    }
  }
  return JSON.stringify(obj);
}
