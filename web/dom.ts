/**
 * DOM helpers. Text only ever enters the page as text nodes (textContent); the one source of
 * markup is KaTeX, which builds its DOM from LaTeX that ricci's printers produced (variable names
 * are validated identifiers), with trust: false so that no LaTeX can add links or raw HTML.
 */
import katex from 'katex';
import type { Span } from '../src/index.js';

type Child = Node | string | null | undefined | false;

/** An element with attributes and children; strings become text nodes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, string | boolean>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false) continue;
    e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

export function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return e;
}

/** Typesets LaTeX into target (replacing its content). Throws on LaTeX that KaTeX cannot parse. */
export function renderMath(target: HTMLElement, latex: string): void {
  katex.render(latex, target, { displayMode: true, throwOnError: true, trust: false, strict: 'ignore', output: 'htmlAndMathml' });
  target.dataset['latex'] = latex;
}

/**
 * The text with the span wrapped in <mark>; an empty span (the end of the input) marks one blank
 * so that it stays visible.
 */
export function markedText(text: string, span: Span): Node[] {
  const start = Math.max(0, Math.min(span.start, text.length));
  const end = Math.max(start, Math.min(span.end, text.length));
  const marked = end > start ? text.slice(start, end) : '\u00a0';
  return [document.createTextNode(text.slice(0, start)), el('mark', {}, marked), document.createTextNode(text.slice(end))];
}

/** Copies text to the clipboard; falls back to a selected textarea where the Clipboard API is missing. */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const ta = el('textarea', { readonly: true, 'aria-hidden': 'true', class: 'offscreen' });
  ta.value = text;
  document.body.append(ta);
  ta.select();
  const ok = document.execCommand('copy');
  ta.remove();
  if (!ok) throw new Error('the browser refused to copy');
}
