/**
 * The syntax tree of the input language. Every node carries the source range it was parsed from
 * (`span`, half-open character offsets), so that errors can point at the offending text.
 */

export interface Span {
  readonly start: number;
  readonly end: number;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '.*' | './' | '^' | '.^';

export type Ast =
  | { readonly kind: 'num'; readonly value: number; readonly text: string; readonly span: Span }
  | { readonly kind: 'name'; readonly name: string; readonly span: Span }
  | { readonly kind: 'neg'; readonly arg: Ast; readonly span: Span }
  | { readonly kind: 'transpose'; readonly arg: Ast; readonly span: Span }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly left: Ast;
      readonly right: Ast;
      readonly span: Span;
      readonly opSpan: Span;
    }
  | {
      readonly kind: 'call';
      readonly fn: string;
      readonly args: readonly Ast[];
      readonly span: Span;
      readonly nameSpan: Span;
    }
  | {
      /** body where t1 = value1, t2 = value2 (top level only; each value may use the names before it). */
      readonly kind: 'where';
      readonly body: Ast;
      readonly bindings: readonly Binding[];
      readonly span: Span;
    };

/** A named temporary of a where clause. */
export interface Binding {
  readonly name: string;
  readonly nameSpan: Span;
  readonly value: Ast;
}

export const NO_SPAN: Span = { start: 0, end: 0 };

/** Children of a node, in source order. */
export function astChildren(a: Ast): readonly Ast[] {
  switch (a.kind) {
    case 'num':
    case 'name':
      return [];
    case 'neg':
    case 'transpose':
      return [a.arg];
    case 'binary':
      return [a.left, a.right];
    case 'call':
      return a.args;
    case 'where':
      return [...a.bindings.map((b) => b.value), a.body];
  }
}
