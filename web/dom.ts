/**
 * DOM helpers. Text only ever enters the page as text nodes (textContent); the one source of
 * markup is KaTeX, which builds its DOM from LaTeX that ricci's printers produced (variable names
 * are validated identifiers), with trust: false so that no LaTeX can add links or raw HTML.
 */
import katex from 'katex';
import type { Span } from '../src/syntax/ast.js';
import { count, TEXT_CHUNK_CHARS, TEXT_PREVIEW_CHARS } from './budget.js';

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

/**
 * Typesets LaTeX into target (replacing its content); `text` (the input-language form) is what
 * assistive technology reads. KaTeX's HTML output alone: its MathML copy doubled the layout work.
 * Throws on LaTeX that KaTeX cannot parse. The caller keeps the LaTeX within budget.ts's limits.
 */
export function renderMath(target: HTMLElement, latex: string, text: string): void {
  katex.render(latex, target, { displayMode: true, throwOnError: true, trust: false, strict: 'ignore', output: 'html' });
  target.dataset['latex'] = latex;
  target.setAttribute('role', 'math');
  target.setAttribute('aria-label', text);
  target.classList.remove('as-text');
}

/** Where to cut a long text near `at`: after the last space or operator before it, so that pieces end cleanly. */
function cutNear(text: string, from: number, at: number): number {
  if (at >= text.length) return text.length;
  for (let i = at; i > from + (at - from) / 2; i--) if (/[\s+\-*/,)]/.test(text[i - 1]!)) return i;
  return at;
}

/**
 * Shows a text form in place of a formula: wrapped monospace, and above `preview` characters its
 * beginning with a button that shows the rest. The rest comes a piece per frame, each piece its
 * own block (so that adding one does not lay out again the text before it), so no frame lays out
 * more than TEXT_CHUNK_CHARS. `why` says why it is not typeset.
 */
export function renderText(target: HTMLElement, text: string, why: string, preview = TEXT_PREVIEW_CHARS): void {
  const first = cutNear(text, 0, preview);
  const code = el('code', { class: 'text-form', 'data-length': String(text.length) }, el('span', { class: 'text-piece' }, text.slice(0, first)));
  const parts: Node[] = [code];
  if (first < text.length) {
    const ellipsis = el('span', { class: 'ellipsis' }, '…');
    const more = el('button', { type: 'button', class: 'show-all', 'data-testid': 'show-all' }, `Show all ${count(text.length)} characters`);
    more.addEventListener('click', () => {
      more.disabled = true;
      ellipsis.remove();
      let at = first;
      const step = (): void => {
        if (!code.isConnected) return;
        const end = cutNear(text, at, at + TEXT_CHUNK_CHARS);
        code.append(el('span', { class: 'text-piece' }, text.slice(at, end)));
        at = end;
        if (at < text.length) requestAnimationFrame(step);
        else more.remove();
      };
      requestAnimationFrame(step);
    });
    parts.push(ellipsis, more);
  }
  parts.push(el('span', { class: 'why-text' }, `(shown as text: ${why})`));
  target.replaceChildren(...parts);
  delete target.dataset['latex'];
  target.removeAttribute('role');
  target.removeAttribute('aria-label');
  target.classList.add('as-text');
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
