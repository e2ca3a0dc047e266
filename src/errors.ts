/**
 * Errors that reach the user. Each carries a category that fixes the CLI's exit code and, where it
 * has one, the source range it is about, so that front ends can mark the offending text.
 */
import type { Span } from './syntax/ast.js';

export type ErrorCategory =
  | 'syntax' // the text does not parse
  | 'type' // types or sizes do not fit
  | 'input' // a bad value: a point file, a declaration, an option value
  | 'unsupported' // valid input that the engine does not handle
  | 'usage'; // the CLI was called wrongly

export class RicciError extends Error {
  readonly category: ErrorCategory;
  readonly span: Span | undefined;

  constructor(category: ErrorCategory, message: string, span?: Span) {
    super(message);
    this.name = 'RicciError';
    this.category = category;
    this.span = span;
  }
}

export function syntaxError(message: string, span?: Span): RicciError {
  return new RicciError('syntax', message, span);
}
export function typeError(message: string, span?: Span): RicciError {
  return new RicciError('type', message, span);
}
export function inputError(message: string, span?: Span): RicciError {
  return new RicciError('input', message, span);
}
export function unsupported(message: string, span?: Span): RicciError {
  return new RicciError('unsupported', message, span);
}

/**
 * The source line with a caret line under the span, e.g.
 *   x*A
 *    ^
 */
export function markSpan(text: string, span: Span): string {
  const lineStart = text.lastIndexOf('\n', Math.max(0, span.start - 1)) + 1;
  let lineEnd = text.indexOf('\n', span.start);
  if (lineEnd < 0) lineEnd = text.length;
  const line = text.slice(lineStart, lineEnd);
  const from = span.start - lineStart;
  const width = Math.max(1, Math.min(span.end, lineEnd) - span.start);
  // Keep very long inputs readable: show a window around the span.
  const maxWidth = 100;
  if (line.length <= maxWidth) return `${line}\n${' '.repeat(from)}${'^'.repeat(width)}`;
  const winStart = Math.max(0, from - 40);
  const shown = line.slice(winStart, winStart + maxWidth);
  const pre = winStart > 0 ? '…' : '';
  return `${pre}${shown}${winStart + maxWidth < line.length ? '…' : ''}\n${' '.repeat(pre.length + from - winStart)}${'^'.repeat(Math.min(width, maxWidth))}`;
}
