/**
 * A reader of the index notation the page typesets (its data-latex), for the browser tests: it
 * checks the page's index convention (README, "Index notation") on what is shown, independently
 * of the printer's tree:
 *  - in a product each index occurs once (free) or twice, once up and once down (summed);
 *  - every term of a sum has the same free indices in the same positions.
 * It returns the free indices with their positions (true = up). It reads the LaTeX that
 * src/print/index.ts writes: tensors as {name}^{i p}{}_{j}, functions as \exp\left(…\right),
 * powers as \left(…\right)^{k}, coefficients joined by a space or \cdot.
 */
export type Signature = Map<string, boolean>;

type Tok = { kind: 'open' | 'close' | 'lp' | 'rp' | 'sup' | 'sub' | 'plus' | 'minus' | 'num' | 'word'; text: string };

const TOKEN = /\s+|\\[,;:!]|\\left\(|\\right\)|\\cdot|\\operatorname\{[^{}]*\}|\\[A-Za-z]+|[0-9]+(?:\.[0-9]+)?|[A-Za-z]|[{}^_+\-()]|[^]/y;

function tokenize(latex: string): Tok[] {
  const out: Tok[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < latex.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(latex);
    if (m === null) throw new Error(`unexpected ${JSON.stringify(latex.slice(at, at + 10))} in ${latex}`);
    const t = m[0];
    if (/^\s+$/.test(t) || t === '\\cdot') continue;
    const kind: Tok['kind'] =
      t === '{' ? 'open'
      : t === '}' ? 'close'
      : t === '\\left(' || t === '(' ? 'lp'
      : t === '\\right)' || t === ')' ? 'rp'
      : t === '^' ? 'sup'
      : t === '_' ? 'sub'
      : t === '+' ? 'plus'
      : t === '-' ? 'minus'
      : /^[0-9]/.test(t) ? 'num'
      : 'word';
    out.push({ kind, text: t });
  }
  return out;
}

class Reader {
  private at = 0;
  constructor(private readonly toks: Tok[], private readonly source: string) {}

  private peek(): Tok | undefined {
    return this.toks[this.at];
  }
  private next(): Tok {
    const t = this.toks[this.at++];
    if (t === undefined) throw new Error(`unexpected end of ${this.source}`);
    return t;
  }
  private expect(kind: Tok['kind']): void {
    const t = this.next();
    if (t.kind !== kind) throw new Error(`expected ${kind}, found ${t.text} in ${this.source}`);
  }
  done(): boolean {
    return this.at >= this.toks.length;
  }

  sum(): Signature {
    let first: Signature | undefined;
    if (this.peek()?.kind === 'minus') this.next();
    for (;;) {
      const s = this.product();
      if (first === undefined) first = s;
      else if (!same(first, s)) throw new Error(`terms with different free indices (${show(first)} and ${show(s)}) in ${this.source}`);
      const t = this.peek();
      if (t?.kind !== 'plus' && t?.kind !== 'minus') return first;
      this.next();
    }
  }

  private product(): Signature {
    const occ = new Map<string, boolean[]>();
    let factors = 0;
    for (let t = this.peek(); t && t.kind !== 'plus' && t.kind !== 'minus' && t.kind !== 'rp' && t.kind !== 'close'; t = this.peek()) {
      for (const [name, up] of this.factor()) occ.set(name, [...(occ.get(name) ?? []), up]);
      factors++;
    }
    if (factors === 0) throw new Error(`an empty product in ${this.source}`);
    const out: Signature = new Map();
    for (const [name, ups] of occ) {
      if (ups.length === 1) out.set(name, ups[0]!);
      else if (!(ups.length === 2 && ups[0] !== ups[1]))
        throw new Error(`${name} occurs ${ups.length} times (${ups.map((u) => (u ? 'up' : 'down')).join(', ')}) in one product of ${this.source}`);
    }
    return out;
  }

  private factor(): Signature {
    const t = this.next();
    switch (t.kind) {
      case 'num':
        return new Map();
      case 'lp': {
        const inner = this.sum();
        this.expect('rp');
        if (this.peek()?.kind === 'sup') this.exponent();
        return inner;
      }
      case 'open': {
        // {name} with its indices: the name is opaque (it may hold \left(A\right)^{11}).
        this.skipGroup();
        return this.indices();
      }
      case 'word': {
        // A function applied to a parenthesized argument, or a symbol without indices (t_{1}, \mathbf{1}).
        if (this.peek()?.kind === 'lp') return this.factor();
        if (t.text === '\\mathbf') this.skipGroupAt();
        if (this.peek()?.kind === 'sub') {
          this.next();
          this.skipGroupAt();
        }
        return new Map();
      }
      default:
        throw new Error(`unexpected ${t.text} in ${this.source}`);
    }
  }

  /** A power's exponent: a number, or an expression whose free indices are ignored (it multiplies entrywise). */
  private exponent(): void {
    this.expect('sup');
    this.skipGroupAt();
  }

  /** Skips the rest of a group whose { was read. */
  private skipGroup(): void {
    for (let depth = 1; depth > 0; ) {
      const t = this.next();
      if (t.kind === 'open') depth++;
      if (t.kind === 'close') depth--;
    }
  }
  private skipGroupAt(): void {
    this.expect('open');
    this.skipGroup();
  }

  /** ^{i p}{}_{j}: index groups, joined by {}; an index may be p_{1}. */
  private indices(): Signature {
    const out: Signature = new Map();
    const seen = new Map<string, boolean>();
    while (this.peek()?.kind === 'sup' || this.peek()?.kind === 'sub' || (this.peek()?.kind === 'open' && this.toks[this.at + 1]?.kind === 'close')) {
      const t = this.next();
      if (t.kind === 'open') {
        this.next();
        continue;
      }
      const up = t.kind === 'sup';
      this.expect('open');
      for (let x = this.next(); x.kind !== 'close'; x = this.next()) {
        if (x.kind !== 'word') throw new Error(`unexpected ${x.text} among indices in ${this.source}`);
        let name = x.text;
        if (this.peek()?.kind === 'sub') {
          this.next();
          this.expect('open');
          name += this.next().text;
          this.expect('close');
        }
        const prev = seen.get(name);
        if (prev === undefined) {
          seen.set(name, up);
          out.set(name, up);
        } else if (prev === up) throw new Error(`${name} twice ${up ? 'up' : 'down'} on one tensor in ${this.source}`);
        else out.delete(name);
      }
    }
    return out;
  }
}

function same(a: Signature, b: Signature): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

function show(s: Signature): string {
  return [...s].map(([k, up]) => `${k}${up ? '↑' : '↓'}`).join(' ') || 'none';
}

/** The free indices of an index form in LaTeX; throws where it breaks the convention. */
export function indexSignature(latex: string): Signature {
  // \operatorname{sym}_{(kl)(mn)}\left[T\right] (by a symmetric matrix): T's indices, the swapped pairs free in T.
  const sym = /^\\operatorname\{sym\}_\{((?:\([a-z0-9,]+\))+)\}\\left\[(.*)\\right\]$/s.exec(latex);
  if (sym) {
    const inner = indexSignature(sym[2]!);
    for (const pair of sym[1]!.slice(1, -1).split(')(')) {
      const names = pair.includes(',') ? pair.split(',') : pair.split('');
      for (const n of names) if (!inner.has(n)) throw new Error(`sym over ${pair}: ${n} is not free in ${sym[2]}`);
    }
    return inner;
  }
  const r = new Reader(tokenize(latex), latex);
  const s = r.sum();
  if (!r.done()) throw new Error(`unread text after a complete expression in ${latex}`);
  return s;
}

/** The free indices a result of `rank` axes has: i, j, k, … (skipping `skip`), up on even axes, down on odd ones. */
export function expectedFree(rank: number, skip: ReadonlySet<string> = new Set()): Signature {
  const names = 'ijklmnopqrstuvwxyzabcdefgh'.split('').filter((c) => !skip.has(c));
  return new Map(names.slice(0, rank).map((n, k) => [n, k % 2 === 0]));
}

export function sameSignature(a: Signature, b: Signature): boolean {
  return same(a, b);
}
