/**
 * Whether the variable to differentiate by occurs in the expression, and the expression's
 * variables. A stand-in, on the page's side, for the library function that issue 8 adds (the
 * fuzz branch); when that lands, this file becomes a call of it.
 */
import type { Analysis } from '../src/derive.js';

export interface Occurrence {
  readonly occurs: boolean;
  /** The expression's variables in order of first appearance. */
  readonly variables: readonly string[];
}

/** From the expression's analysis (analyze() in src/derive.ts). */
export function wrtOccurrence(analysis: Analysis, wrt: string): Occurrence {
  const variables = [...analysis.checked.vars.keys()];
  return { occurs: variables.includes(wrt), variables };
}
