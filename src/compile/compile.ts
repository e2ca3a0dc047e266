/**
 * The compiled evaluator's entry point: roots of the IR → a function over Float64Array values.
 * Sizes are checked and bound when the function first sees a shape; the plan for those sizes is
 * kept, so later calls with the same shapes only run kernels.
 */
import type { Dim, Node, VarNode } from '../ir/node.js';
import type { Tensor } from '../tensor.js';
import { bindSizes, type SizeNames } from './reference.js';
import { buildPlan, type Plan } from './plan.js';

export interface CompileInput {
  readonly roots: readonly Node[];
  /** Every variable the caller must give a value for (also those the roots no longer use). */
  readonly vars: readonly VarNode[];
  readonly sizeNames?: SizeNames;
  /** How errors name a matrix (see derive.ts matrixNamesOf). */
  readonly matrixName?: (n: Node) => string;
}

export type Evaluator = (values: ReadonlyMap<string, Tensor>) => Tensor[];

export function compileNodes(input: CompileInput): Evaluator {
  const plans = new Map<string, Plan>();
  return (values) => {
    const key = input.vars.map((v) => values.get(v.name)?.shape.join('x') ?? '?').join('|');
    let plan = plans.get(key);
    if (!plan) {
      const sizes: Map<Dim, number> = bindSizes([...input.vars, ...input.roots], values, input.sizeNames);
      plan = buildPlan(input.roots, input.vars, sizes, input.matrixName);
      plans.set(key, plan);
    } else {
      // Same shapes as a planned call: still check symmetry and values of declared-symmetric inputs.
      checkSymmetric(input.vars, values);
    }
    return plan.run(values);
  };
}

function checkSymmetric(vars: readonly VarNode[], values: ReadonlyMap<string, Tensor>): void {
  const sym = vars.filter((v) => v.symmetric);
  if (sym.length === 0) return;
  bindSizes(sym, values);
}
