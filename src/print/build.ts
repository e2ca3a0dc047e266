/** Span-less AST builders for printers (printed forms are ASTs of the input language). */
import type { Ast, BinaryOp } from '../syntax/ast.js';
import { NO_SPAN } from '../syntax/ast.js';
import { numberText } from './numbers.js';

export const num = (value: number): Ast => ({ kind: 'num', value, text: numberText(value), span: NO_SPAN });
export const name = (n: string): Ast => ({ kind: 'name', name: n, span: NO_SPAN });
export const call = (fn: string, ...args: Ast[]): Ast => ({ kind: 'call', fn, args, span: NO_SPAN, nameSpan: NO_SPAN });
export const bin = (op: BinaryOp, left: Ast, right: Ast): Ast => ({
  kind: 'binary', op, left, right, span: NO_SPAN, opSpan: NO_SPAN,
});
/** -a; in a product the sign goes to the leftmost factor: -(X'*v) is printed -X'*v. */
export const negate = (arg: Ast): Ast => {
  if (arg.kind === 'num') return num(-arg.value);
  if (arg.kind === 'neg') return arg.arg;
  if (arg.kind === 'binary' && (arg.op === '*' || arg.op === '/' || arg.op === '.*' || arg.op === './'))
    return bin(arg.op, negate(arg.left), arg.right);
  return { kind: 'neg', arg, span: NO_SPAN };
};
export const tr = (arg: Ast): Ast => {
  if (arg.kind === 'transpose') return arg.arg;
  return { kind: 'transpose', arg, span: NO_SPAN };
};
