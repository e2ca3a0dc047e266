/**
 * The compiled evaluator's entry point: roots of the IR → a function over Float64Array values.
 * Plans are built per size signature the first time the function sees those sizes.
 */
import type { Dim, Node, VarNode } from '../ir/node.js';
import type { Tensor } from '../tensor.js';
import { bindSizes, evaluateReference, type SizeNames } from './reference.js';

export interface CompileInput {
  readonly roots: readonly Node[];
  /** Every variable the caller must give a value for (also those the roots no longer use). */
  readonly vars: readonly VarNode[];
  readonly sizeNames?: SizeNames;
}

export type Evaluator = (values: ReadonlyMap<string, Tensor>) => Tensor[];

export function compileNodes(input: CompileInput): Evaluator {
  return (values) => {
    const sizes: Map<Dim, number> = bindSizes([...input.vars, ...input.roots], values, input.sizeNames);
    return input.roots.map((r) => evaluateReference(r, values, sizes));
  };
}
