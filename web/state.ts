/**
 * The page's whole state, and its round trip through the URL fragment (the permalink):
 *   #expr=x'*A*x&wrt=x&order=2&let=A:symmetric+matrix&notation=index&layout=vec&tab=numbers&size=n:5&seed=3&limit=20
 * The fragment rather than the query keeps the page a plain static file on any host. Reading it
 * back validates every field; a field that cannot be used is replaced by what the page shows
 * instead, and a notice says so, so that a hand-edited or outdated link never changes silently.
 *
 * Names of variables and sizes are user text: they live in Maps, never as keys of plain objects
 * (a variable may be called __proto__ or constructor).
 */
import { DECLARED_TYPES, type DeclaredType } from '../src/syntax/check.js';
import { CODE_LANGS, type CodeLang } from '../src/codegen/index.js';
import type { Layout } from '../src/derive.js';

export const MAX_ORDER = 4;
/** Largest size (n, m, …) offered for the numeric point; the heat map and the check stay quick. */
export const MAX_SIZE = 30;
/** The time limit of one request to the worker, in seconds: its default and its range. */
export const DEFAULT_LIMIT = 8;
export const MIN_LIMIT = 0.5;
export const MAX_LIMIT = 120;

export type Notation = 'matrix' | 'index';

/** The output tab shown: the derivative, its numbers at a point, or the generated code. */
export type Tab = 'result' | 'numbers' | 'code';
const TABS: readonly Tab[] = ['result', 'numbers', 'code'];

export { type CodeLang, type Layout };

export interface State {
  readonly expr: string;
  /** The variable to differentiate by; '' lets the page choose one. */
  readonly wrt: string;
  /** 1 (gradient / Jacobian) to MAX_ORDER. */
  readonly order: number;
  /** Types that override the naming convention. */
  readonly lets: ReadonlyMap<string, DeclaredType>;
  /** The notation asked for; index notation is shown anyway where no matrix form exists. */
  readonly notation: Notation;
  /**
   * The layout asked for: 'default' (shape(f) ++ shape(X) per order) or 'vec' (matrices
   * vectorized column-major, printed with kron). It applies where the variable or the expression
   * is a matrix; elsewhere the default layout is shown (the two are the same there).
   */
  readonly layout: Layout;
  readonly tab: Tab;
  /** The language of the Code tab. */
  readonly lang: CodeLang;
  /** Concrete sizes of the numeric point by size name (n → 3); sizes not given take defaults. */
  readonly sizes: ReadonlyMap<string, number>;
  /** Seed of the random numeric point. */
  readonly seed: number;
  /** Longest the page works on one request, in seconds (MIN_LIMIT to MAX_LIMIT). */
  readonly limit: number;
}

export const DEFAULT_STATE: State = {
  expr: "x'*A*x",
  wrt: 'x',
  order: 1,
  lets: new Map(),
  notation: 'matrix',
  layout: 'default',
  tab: 'result',
  lang: 'js',
  sizes: new Map(),
  seed: 1,
  limit: DEFAULT_LIMIT,
};

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isDeclaredType(t: string): t is DeclaredType {
  return (DECLARED_TYPES as readonly string[]).includes(t);
}

/** The library's layouts (src/derive.ts LAYOUTS; a test keeps the two equal), named here so that the page's main thread does not load the engine. */
export const LAYOUT_CHOICES: readonly Layout[] = ['default', 'vec'];

export function isLayout(l: string | null): l is Layout {
  return (LAYOUT_CHOICES as readonly (string | null)[]).includes(l);
}

export function isCodeLang(l: string | null): l is CodeLang {
  return (CODE_LANGS as readonly (string | null)[]).includes(l);
}

export function isSize(k: number): boolean {
  return Number.isInteger(k) && k >= 1 && k <= MAX_SIZE;
}

export function isTimeLimit(s: number): boolean {
  return Number.isFinite(s) && s >= MIN_LIMIT && s <= MAX_LIMIT;
}

/**
 * The fragment for a state (without '#'). Only declarations of names that occur in `names` are
 * written, so that a link does not carry the leftovers of earlier expressions. Fields at their
 * defaults (matrix notation, the default layout, the Result tab, JavaScript, seed 1, the default time limit) are left
 * out, as in links older than them.
 */
export function encodeState(s: State, names?: ReadonlySet<string>): string {
  const p = new URLSearchParams();
  p.set('expr', s.expr);
  if (s.wrt) p.set('wrt', s.wrt);
  p.set('order', String(s.order));
  for (const [name, type] of s.lets) if (!names || names.has(name)) p.append('let', `${name}:${type}`);
  if (s.notation !== 'matrix') p.set('notation', s.notation);
  if (s.layout !== 'default') p.set('layout', s.layout);
  if (s.tab !== 'result') p.set('tab', s.tab);
  if (s.lang !== 'js') p.set('lang', s.lang);
  for (const [name, k] of s.sizes) p.append('size', `${name}:${k}`);
  if (s.seed !== 1) p.set('seed', String(s.seed));
  if (s.limit !== DEFAULT_LIMIT) p.set('limit', String(s.limit));
  return p.toString();
}

export interface Decoded {
  readonly state: State;
  /** One sentence for each field of the link that could not be used as it was. */
  readonly notices: readonly string[];
}

/** "name:value" → [name, value], or undefined. */
function pair(l: string): [string, string] | undefined {
  const at = l.indexOf(':');
  return at > 0 ? [l.slice(0, at).trim(), l.slice(at + 1).trim()] : undefined;
}

/**
 * The state a fragment describes, and notices for the fields it could not use: an order or a time
 * limit out of range is brought into range, other invalid fields take their defaults.
 */
export function decodeLink(fragment: string, defaults: State = DEFAULT_STATE): Decoded {
  const p = new URLSearchParams(fragment.replace(/^#/, ''));
  const expr = p.get('expr');
  if (expr === null) return { state: defaults, notices: [] };
  const notices: string[] = [];
  const show = (v: string): string => JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);

  const wrtText = p.get('wrt') ?? '';
  const wrt = IDENT.test(wrtText) ? wrtText : '';
  if (wrtText !== wrt) notices.push(`The link's variable ${show(wrtText)} is not a name; the page chooses one.`);

  const orderText = p.get('order') ?? '1';
  const asked = Number(orderText);
  const order = Number.isInteger(asked) ? Math.min(MAX_ORDER, Math.max(1, asked)) : 1;
  if (String(order) !== orderText)
    notices.push(`The link asks for order ${show(orderText)}; the page offers orders 1 to ${MAX_ORDER}, so it shows order ${order}.`);

  const lets = new Map<string, DeclaredType>();
  for (const l of p.getAll('let')) {
    const nv = pair(l);
    if (nv && IDENT.test(nv[0]) && isDeclaredType(nv[1])) lets.set(nv[0], nv[1]);
    else notices.push(`The link's declaration ${show(l)} is not "name:type" with a type of ${DECLARED_TYPES.join(', ')}; it is left out.`);
  }

  const sizes = new Map<string, number>();
  for (const l of p.getAll('size')) {
    const nv = pair(l);
    const k = nv ? Number(nv[1]) : NaN;
    if (nv && IDENT.test(nv[0]) && isSize(k)) sizes.set(nv[0], k);
    else notices.push(`The link's size ${show(l)} is not "name:k" with k from 1 to ${MAX_SIZE}; it is left out.`);
  }

  const seedText = p.get('seed');
  const seedValue = Number(seedText ?? '1');
  const seed = Number.isInteger(seedValue) && seedValue >= 0 && seedValue < 2 ** 32 ? seedValue : 1;
  if (seedText !== null && String(seed) !== seedText) notices.push(`The link's seed ${show(seedText)} is not a whole number below 2³²; seed 1 is used.`);

  const limitText = p.get('limit');
  const limitValue = limitText === null || !/^\d+(\.\d+)?$/.test(limitText) ? NaN : Number(limitText);
  const limit = Number.isFinite(limitValue) ? Math.min(MAX_LIMIT, Math.max(MIN_LIMIT, limitValue)) : DEFAULT_LIMIT;
  if (limitText !== null && limit !== limitValue)
    notices.push(`The link asks for a time limit of ${show(limitText)} s; the page allows ${MIN_LIMIT} to ${MAX_LIMIT} s, so it uses ${limit} s.`);

  const notationText = p.get('notation');
  const notation: Notation = notationText === 'index' ? 'index' : 'matrix';
  if (notationText !== null && notationText !== notation) notices.push(`The link's notation ${show(notationText)} is unknown; matrix notation is shown.`);

  const layoutText = p.get('layout');
  const layout = isLayout(layoutText) ? layoutText : 'default';
  if (layoutText !== null && layoutText !== layout) notices.push(`The link's layout ${show(layoutText)} is unknown; the default layout is shown.`);

  const tabText = p.get('tab');
  const tab = TABS.find((t) => t === tabText) ?? 'result';
  if (tabText !== null && tabText !== tab) notices.push(`The link's tab ${show(tabText)} is unknown; the Result tab is shown.`);

  const langText = p.get('lang');
  const lang = isCodeLang(langText) ? langText : 'js';
  if (langText !== null && langText !== lang) notices.push(`The link's language ${show(langText)} is unknown; JavaScript is shown.`);

  return { state: { expr, wrt, order, lets, notation, layout, tab, lang, sizes, seed, limit }, notices };
}

/** The state a fragment describes; fields that cannot be used take their defaults (see decodeLink). */
export function decodeState(fragment: string, defaults: State = DEFAULT_STATE): State {
  return decodeLink(fragment, defaults).state;
}
