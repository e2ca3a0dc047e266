/**
 * The page's whole state, and its round trip through the URL fragment (the permalink):
 *   #expr=x'*A*x&wrt=x&order=2&let=A:symmetric+matrix&notation=index&tab=code&lang=python
 * The fragment rather than the query keeps the page a plain static file on any host, and reading
 * it back validates every field, so a hand-edited link cannot put the page in an impossible state.
 */
import { DECLARED_TYPES, type DeclaredType } from '../src/syntax/check.js';
import { CODE_LANGS, type CodeLang } from '../src/codegen/index.js';

export const MAX_ORDER = 4;

export type Notation = 'matrix' | 'index';

/** The output tab shown: the derivative, or the generated code. */
export type Tab = 'result' | 'code';

export { type CodeLang };

export interface State {
  readonly expr: string;
  /** The variable to differentiate by; '' lets the page choose one. */
  readonly wrt: string;
  /** 1 (gradient / Jacobian) to MAX_ORDER. */
  readonly order: number;
  /** Types that override the naming convention. */
  readonly lets: Readonly<Record<string, DeclaredType>>;
  /** The notation asked for; index notation is shown anyway where no matrix form exists. */
  readonly notation: Notation;
  readonly tab: Tab;
  /** The language of the Code tab. */
  readonly lang: CodeLang;
}

export const DEFAULT_STATE: State = { expr: "x'*A*x", wrt: 'x', order: 1, lets: {}, notation: 'matrix', tab: 'result', lang: 'js' };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isDeclaredType(t: string): t is DeclaredType {
  return (DECLARED_TYPES as readonly string[]).includes(t);
}

export function isCodeLang(l: string | null): l is CodeLang {
  return (CODE_LANGS as readonly (string | null)[]).includes(l);
}

/**
 * The fragment for a state (without '#'). Only declarations of names that occur in `names` are
 * written, so that a link does not carry the leftovers of earlier expressions. Fields at their
 * defaults (matrix notation, the Result tab, JavaScript) are left out, as in links older than them.
 */
export function encodeState(s: State, names?: ReadonlySet<string>): string {
  const p = new URLSearchParams();
  p.set('expr', s.expr);
  if (s.wrt) p.set('wrt', s.wrt);
  p.set('order', String(s.order));
  for (const [name, type] of Object.entries(s.lets)) if (!names || names.has(name)) p.append('let', `${name}:${type}`);
  if (s.notation !== 'matrix') p.set('notation', s.notation);
  if (s.tab !== 'result') p.set('tab', s.tab);
  if (s.lang !== 'js') p.set('lang', s.lang);
  return p.toString();
}

/** The state a fragment describes; missing or invalid fields take their defaults. */
export function decodeState(fragment: string, defaults: State = DEFAULT_STATE): State {
  const p = new URLSearchParams(fragment.replace(/^#/, ''));
  const expr = p.get('expr');
  if (expr === null) return defaults;
  const wrt = p.get('wrt') ?? '';
  const order = Number(p.get('order') ?? '1');
  const lang = p.get('lang');
  const lets: Record<string, DeclaredType> = {};
  for (const l of p.getAll('let')) {
    const at = l.indexOf(':');
    const name = l.slice(0, at).trim();
    const type = l.slice(at + 1).trim();
    if (at > 0 && IDENT.test(name) && isDeclaredType(type)) lets[name] = type;
  }
  return {
    expr,
    wrt: IDENT.test(wrt) ? wrt : '',
    order: Number.isInteger(order) && order >= 1 && order <= MAX_ORDER ? order : 1,
    lets,
    notation: p.get('notation') === 'index' ? 'index' : 'matrix',
    tab: p.get('tab') === 'code' ? 'code' : 'result',
    lang: isCodeLang(lang) ? lang : 'js',
  };
}
