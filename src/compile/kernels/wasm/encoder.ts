/**
 * A minimal WebAssembly binary encoder: just what the numeric kernels need
 * (one imported memory, functions over i32 / f64 / v128 locals, structured
 * control flow, i32 arithmetic, f64 and 128-bit SIMD loads and stores).
 *
 * Everything emitted here is fixed code written in this repository; sizes and
 * addresses are runtime arguments of the emitted functions. Reference: the
 * WebAssembly core specification, "Binary Format" (and the SIMD proposal,
 * merged into the core spec in 2.0).
 */

/** Value types. */
export const ValType = {
  i32: 0x7f,
  f64: 0x7c,
  v128: 0x7b,
} as const;
export type ValType = (typeof ValType)[keyof typeof ValType];

/** Single-byte opcodes used by the kernels. */
export const Op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  return: 0x0f,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  f64_load: 0x2b,
  f64_store: 0x39,
  i32_const: 0x41,
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_ge_s: 0x4e,
  select: 0x1b,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_shl: 0x74,
  i32_shr_s: 0x75,
  /** Prefix of the SIMD opcodes (followed by a LEB128 u32 sub-opcode). */
  simd_prefix: 0xfd,
} as const;

/** SIMD sub-opcodes (after Op.simd_prefix). */
export const SimdOp = {
  v128_load: 0x00,
  v128_load64_splat: 0x0a,
  v128_store: 0x0b,
  v128_const: 0x0c,
  i8x16_shuffle: 0x0d,
  f64x2_splat: 0x14,
  f64x2_add: 0xf0,
  f64x2_sub: 0xf1,
  f64x2_mul: 0xf2,
  /**
   * Relaxed SIMD: a*b + c, fused or not as the host's hardware does it (an FMA instruction on
   * x86-64 with FMA3 and on arm64). Validates only where the host supports the relaxed-SIMD
   * proposal (Chrome ≥ 114, Node ≥ 22, Node 20 with --experimental-wasm-relaxed-simd).
   */
  f64x2_relaxed_madd: 0x107,
} as const;

/** Block type of a block / loop / if that takes and yields nothing. */
export const BLOCK_EMPTY = 0x40;

const SECTION = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;
const EXTERNAL_KIND = { func: 0x00, memory: 0x02 } as const;
const FUNC_TYPE = 0x60;

// ---------------------------------------------------------------- LEB128

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`uleb: ${value}`);
  const out: number[] = [];
  let v = value;
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 (i32 range). */
export function sleb(value: number): number[] {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new RangeError(`sleb: ${value}`);
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}

/** A vector: LEB128 count, then the items' bytes. */
function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

// ---------------------------------------------------------------- code

/**
 * Instruction sequence builder for one function body. Methods append and
 * return `this`, so bodies read top to bottom like the text format.
 */
export class Code {
  readonly bytes: number[] = [];

  op(...opcodes: number[]): this {
    this.bytes.push(...opcodes);
    return this;
  }
  get(local: number): this {
    return this.op(Op.local_get, ...uleb(local));
  }
  set(local: number): this {
    return this.op(Op.local_set, ...uleb(local));
  }
  tee(local: number): this {
    return this.op(Op.local_tee, ...uleb(local));
  }
  i32(value: number): this {
    return this.op(Op.i32_const, ...sleb(value));
  }
  /** local += value (i32 constant). */
  addConst(local: number, value: number): this {
    return this.get(local).i32(value).op(Op.i32_add).set(local);
  }
  /** local += other local (i32). */
  addLocal(local: number, other: number): this {
    return this.get(local).get(other).op(Op.i32_add).set(local);
  }
  block(): this {
    return this.op(Op.block, BLOCK_EMPTY);
  }
  loop(): this {
    return this.op(Op.loop, BLOCK_EMPTY);
  }
  if(): this {
    return this.op(Op.if, BLOCK_EMPTY);
  }
  else(): this {
    return this.op(Op.else);
  }
  end(): this {
    return this.op(Op.end);
  }
  /** Branch to the label `depth` levels out (0 = innermost) when the i32 on the stack is non-zero. */
  brIf(depth: number): this {
    return this.op(Op.br_if, ...uleb(depth));
  }
  br(depth: number): this {
    return this.op(Op.br, ...uleb(depth));
  }
  simd(sub: number): this {
    return this.op(Op.simd_prefix, ...uleb(sub));
  }
  /** memarg: log2 of the alignment hint, then a constant byte offset. */
  private memarg(alignLog2: number, offset: number): this {
    return this.op(...uleb(alignLog2), ...uleb(offset));
  }
  /** v128.load [addr + offset] (address on the stack). */
  v128Load(offset = 0): this {
    return this.simd(SimdOp.v128_load).memarg(4, offset);
  }
  /** v128.store [addr + offset] (address, value on the stack). */
  v128Store(offset = 0): this {
    return this.simd(SimdOp.v128_store).memarg(4, offset);
  }
  /** Load one f64 and splat it to both lanes. */
  load64Splat(offset = 0): this {
    return this.simd(SimdOp.v128_load64_splat).memarg(3, offset);
  }
  f64Load(offset = 0): this {
    return this.op(Op.f64_load).memarg(3, offset);
  }
  f64Store(offset = 0): this {
    return this.op(Op.f64_store).memarg(3, offset);
  }
  /** v128.const with all 16 bytes zero. */
  v128Zero(): this {
    return this.simd(SimdOp.v128_const).op(...new Array<number>(16).fill(0));
  }
}

// ---------------------------------------------------------------- module

export interface FuncDef {
  /** Export name. */
  name: string;
  params: ValType[];
  results: ValType[];
  /** Extra locals (after the parameters), in order. */
  locals: ValType[];
  body: Code;
}

export interface ModuleDef {
  /**
   * Memory imported as imports[memory.module][memory.field], at least `minPages` 64 KiB pages.
   * A shared memory (threads proposal: a SharedArrayBuffer that workers see too) must declare
   * its maximum.
   */
  memory: { module: string; field: string; minPages: number; shared?: { maxPages: number } };
  funcs: FuncDef[];
}

function typeSection(funcs: FuncDef[]): number[] {
  // One type per function (the kernels have a handful; no dedup needed).
  return section(
    SECTION.type,
    vec(funcs.map((f) => [FUNC_TYPE, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))])),
  );
}

function importSection(memory: ModuleDef['memory']): number[] {
  // Limits flag 0: minimum only; 3: shared, minimum and maximum.
  const limits = memory.shared ? [0x03, ...uleb(memory.minPages), ...uleb(memory.shared.maxPages)] : [0x00, ...uleb(memory.minPages)];
  return section(SECTION.import, vec([[...utf8(memory.module), ...utf8(memory.field), EXTERNAL_KIND.memory, ...limits]]));
}

function functionSection(funcs: FuncDef[]): number[] {
  return section(SECTION.function, vec(funcs.map((_, i) => uleb(i))));
}

function exportSection(funcs: FuncDef[]): number[] {
  return section(SECTION.export, vec(funcs.map((f, i) => [...utf8(f.name), EXTERNAL_KIND.func, ...uleb(i)])));
}

/** Locals are encoded as runs of (count, type). */
function localRuns(locals: ValType[]): number[][] {
  const runs: number[][] = [];
  for (let i = 0; i < locals.length; ) {
    let j = i;
    while (j < locals.length && locals[j] === locals[i]) j++;
    runs.push([...uleb(j - i), locals[i]]);
    i = j;
  }
  return runs;
}

function codeSection(funcs: FuncDef[]): number[] {
  return section(
    SECTION.code,
    vec(
      funcs.map((f) => {
        const body = [...vec(localRuns(f.locals)), ...f.body.bytes, Op.end];
        return [...uleb(body.length), ...body];
      }),
    ),
  );
}

/** The binary module: header, then the sections in their required order. */
export function encodeModule(def: ModuleDef): Uint8Array<ArrayBuffer> {
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]; // "\0asm", version 1
  return Uint8Array.from([
    ...header,
    ...typeSection(def.funcs),
    ...importSection(def.memory),
    ...functionSection(def.funcs),
    ...exportSection(def.funcs),
    ...codeSection(def.funcs),
  ]);
}
