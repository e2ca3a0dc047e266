/**
 * How much the page hands KaTeX at a time. Typesetting and laying out a formula costs about its
 * length, and much more with nesting (each \left…\right measures its content again): measured in
 * chromium on this project's machine with KaTeX's HTML output, 3,750 characters of flat LaTeX took
 * ~15 ms and 50 nested parentheses ~50 ms, 200 nested ~550 ms (and 1,000 overflow KaTeX's stack).
 * Above these limits a formula is shown as text, so no formula blocks the page for long.
 */

/** Longest LaTeX typeset in one step. */
export const MAX_TYPESET_CHARS = 4000;
/** Deepest nesting of groups ({…}, \left…\right) typeset. */
export const MAX_TYPESET_DEPTH = 30;
/**
 * Most temporaries shown as typeset lines, one each; more are shown together as text (the 200-deep
 * exp chain's Hessian names 219 parts, and that many small formulas cost more than their length).
 */
export const MAX_TEMP_LINES = 24;
/** Characters of a text form shown before "show all". */
export const TEXT_PREVIEW_CHARS = 600;
/** Characters of a text form added per frame by "show all". */
export const TEXT_CHUNK_CHARS = 8_000;

const GROUPED = new Intl.NumberFormat('en');
/** 12,345: a count for people (one formatter: making one per call costs milliseconds). */
export function count(n: number): string {
  return GROUPED.format(n);
}

/** Deepest nesting of braces and \left…\right pairs (escaped braces \{ \} do not count). */
export function latexDepth(latex: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < latex.length; i++) {
    const c = latex[i];
    if (c === '\\') {
      if (latex.startsWith('\\left', i) && !/[a-zA-Z]/.test(latex[i + 5] ?? '')) depth++;
      else if (latex.startsWith('\\right', i) && !/[a-zA-Z]/.test(latex[i + 6] ?? '')) depth--;
      else i++; // skip the escaped character (\{, \}, \\)
      max = Math.max(max, depth);
      continue;
    }
    if (c === '{') max = Math.max(max, ++depth);
    else if (c === '}') depth--;
  }
  return max;
}

/** Why a formula is not typeset ("12,345 characters"), or undefined where it is within the limits. */
export function tooBigToTypeset(latex: string): string | undefined {
  if (latex.length > MAX_TYPESET_CHARS) return `${count(latex.length)} characters of LaTeX`;
  const depth = latexDepth(latex);
  if (depth > MAX_TYPESET_DEPTH) return `nested ${depth} levels deep`;
  return undefined;
}
