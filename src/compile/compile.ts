/**
 * The compiled evaluator's entry point: roots of the IR → a function over Float64Array values.
 * Sizes are checked and bound when the function first sees a shape; the plan for those sizes is
 * kept, so later calls with the same shapes only run kernels.
 */
import type { Dim, Node, VarNode } from '../ir/node.js';
import type { Tensor } from '../tensor.js';
import { bindSizes, type SizeNames } from './reference.js';
import { buildPlan, type Plan } from './plan.js';
import { expandAdjugates } from './adjugates.js';
import { distributeWideSums } from './distribute.js';
import { type StagedToken, withinEvaluation } from './kernels/wasm/runtime.js';

export { carryStaged, type StagedToken } from './kernels/wasm/runtime.js';

export interface CompileInput {
  readonly roots: readonly Node[];
  /** Every variable the caller must give a value for (also those the roots no longer use). */
  readonly vars: readonly VarNode[];
  /**
   * Nodes that are not computed but whose sizes bind the roots' (the expression a derivative
   * came from: in kron(z', eye)*kron(z, X) the eye's size is fixed only by the products of sizes
   * there, and the Hessian by X has the eye without them).
   */
  readonly sizeRoots?: readonly Node[];
  readonly sizeNames?: SizeNames;
  /**
   * Check declared-symmetric inputs on every call (default), or never: for evaluators whose
   * caller has checked the same values already (a structured Hessian's matvec, whose evaluation
   * checked them; a check would also take the kernels' memory from the copy it left there).
   */
  readonly recheckSymmetry?: boolean;
  /** How errors name a matrix (see derive.ts matrixNamesOf). */
  readonly matrixName?: (n: Node) => string;
}

/**
 * Evaluates the roots; outs[k], when given, receives root k (see Plan.run). `resume`: what an
 * earlier evaluation over the same, unchanged arrays left in the kernels' memory (carryStaged).
 */
export type Evaluator = (values: ReadonlyMap<string, Tensor>, outs?: readonly (Float64Array | undefined)[], resume?: StagedToken | null) => Tensor[];

export function compileNodes(given: CompileInput): Evaluator {
  const input = { ...given, roots: expandAdjugates(given.roots) };
  const plans = new Map<string, Plan>();
  // The last plan and the input shapes it was built for: repeated calls with the same shapes
  // find it without building a key.
  let last: { plan: Plan; shapes: (readonly number[] | undefined)[] } | null = null;
  const sameShapes = (values: ReadonlyMap<string, Tensor>, shapes: (readonly number[] | undefined)[]): boolean =>
    input.vars.every((v, i) => {
      const a = values.get(v.name)?.shape;
      const b = shapes[i];
      return a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((d, j) => d === b[j]));
    });
  const evaluate = (values: ReadonlyMap<string, Tensor>, outs?: readonly (Float64Array | undefined)[]): Tensor[] => {
    let plan: Plan | undefined;
    if (last !== null && sameShapes(values, last.shapes)) plan = last.plan;
    else {
      const key = input.vars.map((v) => values.get(v.name)?.shape.join('x') ?? '?').join('|');
      plan = plans.get(key);
      if (!plan) {
        const sizes: Map<Dim, number> = bindSizes([...input.vars, ...(input.sizeRoots ?? []), ...input.roots], values, input.sizeNames, undefined, input.recheckSymmetry !== false);
        plan = buildPlan(distributeWideSums(input.roots, sizes), input.vars, sizes, input.matrixName);
        plans.set(key, plan);
        last = { plan, shapes: input.vars.map((v) => values.get(v.name)?.shape) };
        return plan.run(values, outs);
      }
      last = { plan, shapes: input.vars.map((v) => values.get(v.name)?.shape) };
    }
    // Same shapes as a planned call: still check symmetry and values of declared-symmetric inputs.
    if (input.recheckSymmetry !== false) checkSymmetric(input.vars, values);
    return plan.run(values, outs);
  };
  return (values, outs, resume) => withinEvaluation(() => evaluate(values, outs), resume);
}

function checkSymmetric(vars: readonly VarNode[], values: ReadonlyMap<string, Tensor>): void {
  const sym = vars.filter((v) => v.symmetric);
  if (sym.length === 0) return;
  bindSizes(sym, values);
}
