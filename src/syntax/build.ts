/**
 * Typed builders called by the grammar's postprocessors. The grammar holds only syntax; these
 * functions make the AST nodes and compute their source spans from the tokens.
 */
import type { Ast, BinaryOp, Binding, Span } from './ast.js';

interface Tok {
  readonly value: string;
  readonly text: string;
  readonly offset: number;
}

type Item = Ast | Tok | Binding | Item[] | Ast[] | Binding[];

function tokSpan(t: Tok): Span {
  return { start: t.offset, end: t.offset + t.text.length };
}

function join(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

/**
 * The span of a parenthesized node with its parentheses. The node keeps its own span (an error in
 * it points inside them); a node built around it spans them, so that `(B*A)./(B*A)` is its whole
 * text, not `B*A)./(B*A`.
 */
const parenthesized = new WeakMap<Ast, Span>();
const outer = (a: Ast): Span => parenthesized.get(a) ?? a.span;

/** The token inside a `("+" | "-")` group, which nearley hands over as a one-element array. */
function groupTok(x: Item): Tok {
  return (Array.isArray(x) ? x[0] : x) as Tok;
}

export function binary(d: Item[]): Ast {
  const left = d[0] as Ast;
  const t = groupTok(d[1] as Item);
  const right = d[2] as Ast;
  return { kind: 'binary', op: t.value as BinaryOp, left, right, span: join(outer(left), outer(right)), opSpan: tokSpan(t) };
}

export function neg(d: Item[]): Ast {
  const t = d[0] as Tok;
  const arg = d[1] as Ast;
  return { kind: 'neg', arg, span: join(tokSpan(t), outer(arg)) };
}

export function transpose(d: Item[]): Ast {
  const arg = d[0] as Ast;
  const t = d[1] as Tok;
  return { kind: 'transpose', arg, span: join(outer(arg), tokSpan(t)) };
}

export function num(d: Item[]): Ast {
  const t = d[0] as Tok;
  return { kind: 'num', value: Number(t.value), text: t.text, span: tokSpan(t) };
}

export function name(d: Item[]): Ast {
  const t = d[0] as Tok;
  return { kind: 'name', name: t.value, span: tokSpan(t) };
}

export function call(d: Item[]): Ast {
  const t = d[0] as Tok;
  const args = d[2] as Ast[];
  const close = d[3] as Tok;
  return { kind: 'call', fn: t.value, args, span: join(tokSpan(t), tokSpan(close)), nameSpan: tokSpan(t) };
}

/** Parentheses make no node; the inner node keeps its own span (see `parenthesized`). */
export function paren(d: Item[]): Ast {
  const inner = d[1] as Ast;
  parenthesized.set(inner, join(tokSpan(d[0] as Tok), tokSpan(d[2] as Tok)));
  return inner;
}

export function firstArg(d: Item[]): Ast[] {
  return [d[0] as Ast];
}

export function nextArg(d: Item[]): Ast[] {
  return [...(d[0] as Ast[]), d[2] as Ast];
}

export function where(d: Item[]): Ast {
  const body = d[0] as Ast;
  const bindings = d[2] as Binding[];
  const last = bindings[bindings.length - 1]!;
  return { kind: 'where', body, bindings, span: join(outer(body), outer(last.value)) };
}

export function binding(d: Item[]): Binding {
  const t = d[0] as Tok;
  return { name: t.value, nameSpan: tokSpan(t), value: d[2] as Ast };
}

export function firstBinding(d: Item[]): Binding[] {
  return [d[0] as Binding];
}

export function nextBinding(d: Item[]): Binding[] {
  return [...(d[0] as Binding[]), d[2] as Binding];
}
