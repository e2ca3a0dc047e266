/**
 * The messages between the page and its worker. Everything is plain data (structured clone):
 * Maps, strings, numbers and typed arrays, never engine objects.
 */
import type { Computed, Problem } from './analysis.js';
import type { CheckOutcome } from './numeric.js';
import type { State } from './state.js';

/** The derivative for the state: variables, result in every notation, or the problem. */
export interface DeriveRequest {
  readonly kind: 'derive';
  readonly state: State;
}

/** The generated code for the state, in state.lang. */
export interface CodeRequest {
  readonly kind: 'code';
  readonly state: State;
}

/** The derivative's numbers at a point (random with state.sizes and state.seed, or pasted), and optionally the check. */
export interface NumbersRequest {
  readonly kind: 'numbers';
  readonly state: State;
  /** A point as JSON, in place of the random one. */
  readonly point: string | undefined;
  readonly check: boolean;
}

export type Request = DeriveRequest | CodeRequest | NumbersRequest;

export interface DeriveReply {
  readonly kind: 'derive';
  readonly computed: Computed;
}

export interface CodeReply {
  readonly kind: 'code';
  /** '' where there is no code. */
  readonly code: string;
  /** One line on what evaluate() returns, or why there is no code. */
  readonly returns: string;
  readonly problem: Problem | undefined;
}

export interface Numbers {
  /** The concrete size of every size name of the expression (n → 3), as used. */
  readonly sizes: ReadonlyMap<string, number>;
  /** The point, as JSON that reproduces it exactly. */
  readonly pointJson: string;
  /** Concrete shape of the derivative, its entries (row-major, from the compiled evaluator), and its structural pattern. */
  readonly shape: readonly number[];
  readonly data: Float64Array;
  readonly pattern: Uint8Array;
  /** Ranks of the expression and of the variable; the shape is shape(f) ++ shape(x)^order. */
  readonly exprRank: number;
  readonly wrtRank: number;
  readonly order: number;
  readonly wrt: string;
  readonly check: CheckOutcome | undefined;
}

export interface NumbersReply {
  readonly kind: 'numbers';
  readonly numbers: Numbers | undefined;
  readonly problem: Problem | undefined;
}

export type Reply = DeriveReply | CodeReply | NumbersReply;

export type ReplyOf<R extends Request> = Extract<Reply, { kind: R['kind'] }>;

/** The envelope: the page numbers its requests, the worker answers with the same id. */
export interface RequestMessage {
  readonly id: number;
  readonly request: Request;
}
export interface ReplyMessage {
  readonly id: number;
  readonly reply: Reply;
  /** A first part of the answer (the variables, before the derivative); the whole answer follows. */
  readonly partial?: boolean;
}
