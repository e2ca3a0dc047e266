/**
 * The page's side of the worker: one request at a time, the newest of each kind waiting, and a
 * worker that is replaced whenever its current work is no longer wanted.
 *
 * A worker cannot be interrupted while it computes, so "cancel" means: the work in flight is
 * marked obsolete; if its answer does not come within a short grace time, the worker is
 * terminated and a fresh one takes the next request. The same happens when a request runs past
 * the time limit (its outcome says so) and on "stop". Work is obsolete when a newer request of
 * the same kind arrives, or any request about a different expression (different `key`).
 */
import type { ReplyMessage, ReplyOf, Request, RequestMessage } from './protocol.js';

export type Outcome<R> =
  | { readonly status: 'done'; readonly reply: R }
  /** Ran past the time limit; the worker was replaced. */
  | { readonly status: 'limit'; readonly ms: number }
  /** The user pressed "stop". */
  | { readonly status: 'stopped' }
  /** A newer request took its place; nothing to show. */
  | { readonly status: 'superseded' }
  /** The worker failed (it could not load, or threw outside the engine's error handling). */
  | { readonly status: 'failed'; readonly message: string };

/** What Jobs needs of a Worker (tests pass a fake). */
export interface WorkerLike {
  postMessage(message: RequestMessage): void;
  terminate(): void;
  onmessage: ((ev: MessageEvent<ReplyMessage>) => void) | null;
  onerror: ((ev: ErrorEvent) => void) | null;
}

export interface JobsOptions {
  /** Longest a request may run. */
  readonly limitMs: number;
  /** How long obsolete work may still answer before its worker is replaced. */
  readonly graceMs: number;
  /** When onBusy(true) is called after work starts (so that quick work shows no indicator). */
  readonly busyAfterMs: number;
  readonly onBusy: (busy: boolean) => void;
}

type Lane = Request['kind'];
/** Order in which waiting requests are sent: the derivative first, it fills the worker's cache. */
const LANES: readonly Lane[] = ['derive', 'code', 'numbers'];

interface Pending {
  readonly request: Request;
  readonly key: string;
  readonly resolve: (o: Outcome<never>) => void;
  readonly partial: ((reply: never) => void) | undefined;
}

interface Running extends Pending {
  readonly id: number;
  obsolete: boolean;
  timers: ReturnType<typeof setTimeout>[];
}

/** The part of a request that decides which expression it is about. */
export function requestKey(r: Request): string {
  const s = r.state;
  return JSON.stringify([s.expr, s.wrt, s.order, [...s.lets]]);
}

export class Jobs {
  private worker: WorkerLike;
  private nextId = 1;
  private current: Running | undefined;
  private readonly waiting = new Map<Lane, Pending>();
  private busyTimer: ReturnType<typeof setTimeout> | undefined;
  private busy = false;
  /** How many workers were replaced (for tests and the curious). */
  restarts = 0;

  constructor(
    private readonly makeWorker: () => WorkerLike,
    private readonly opts: JobsOptions,
  ) {
    this.worker = this.start();
  }

  /** Sends a request; `partial` hears a first part of the answer, if the worker sends one. */
  run<R extends Request>(request: R, partial?: (reply: ReplyOf<R>) => void): Promise<Outcome<ReplyOf<R>>> {
    return new Promise((resolve) => {
      const lane = request.kind;
      const key = requestKey(request);
      this.waiting.get(lane)?.resolve({ status: 'superseded' });
      this.waiting.set(lane, { request, key, resolve: resolve as (o: Outcome<never>) => void, partial: partial as ((reply: never) => void) | undefined });
      const c = this.current;
      if (c && !c.obsolete && (c.request.kind === lane || c.key !== key)) this.abandon(c);
      this.pump();
    });
  }

  /** Ends all work, in flight and waiting, with status 'stopped'. */
  stop(): void {
    for (const p of this.waiting.values()) p.resolve({ status: 'stopped' });
    this.waiting.clear();
    const c = this.current;
    if (c) {
      if (!c.obsolete) c.resolve({ status: 'stopped' });
      this.replace();
    }
    this.pump();
  }

  private start(): WorkerLike {
    const w = this.makeWorker();
    w.onmessage = (ev) => this.answered(ev.data);
    w.onerror = (ev) => {
      ev.preventDefault();
      this.failed(ev.message || 'the worker failed');
    };
    return w;
  }

  /** Terminates the worker (and with it the work in flight) and starts another. */
  private replace(): void {
    if (this.current) for (const t of this.current.timers) clearTimeout(t);
    this.current = undefined;
    this.worker.onmessage = null;
    this.worker.onerror = null;
    this.worker.terminate();
    this.restarts++;
    this.worker = this.start();
  }

  /** The work in flight is no longer wanted: it answers within the grace time, or its worker goes. */
  private abandon(c: Running): void {
    c.obsolete = true;
    c.resolve({ status: 'superseded' });
    c.timers.push(
      setTimeout(() => {
        if (this.current === c) {
          this.replace();
          this.pump();
        }
      }, this.opts.graceMs),
    );
  }

  private pump(): void {
    if (this.current) return;
    const lane = LANES.find((l) => this.waiting.has(l));
    if (lane === undefined) {
      this.setBusy(false);
      return;
    }
    const next = this.waiting.get(lane)!;
    this.waiting.delete(lane);
    const id = this.nextId++;
    const running: Running = { ...next, id, obsolete: false, timers: [] };
    running.timers.push(setTimeout(() => this.timedOut(running), this.opts.limitMs));
    this.current = running;
    this.worker.postMessage({ id, request: next.request });
    if (!this.busy && this.busyTimer === undefined)
      this.busyTimer = setTimeout(() => {
        this.busyTimer = undefined;
        if (this.current) this.setBusy(true);
      }, this.opts.busyAfterMs);
  }

  private answered(m: ReplyMessage): void {
    const c = this.current;
    if (!c || m.id !== c.id) return;
    if (m.partial) {
      if (!c.obsolete) c.partial?.(m.reply as never);
      return;
    }
    for (const t of c.timers) clearTimeout(t);
    this.current = undefined;
    if (!c.obsolete) c.resolve({ status: 'done', reply: m.reply as never });
    this.pump();
  }

  private timedOut(c: Running): void {
    if (this.current !== c) return;
    if (!c.obsolete) c.resolve({ status: 'limit', ms: this.opts.limitMs });
    this.replace();
    this.pump();
  }

  private failed(message: string): void {
    const c = this.current;
    // Without work in flight there is nothing to report; the next request meets the failure.
    if (!c) return;
    if (!c.obsolete) c.resolve({ status: 'failed', message });
    this.replace();
    this.pump();
  }

  private setBusy(busy: boolean): void {
    if (!busy && this.busyTimer !== undefined) {
      clearTimeout(this.busyTimer);
      this.busyTimer = undefined;
    }
    if (busy === this.busy) return;
    this.busy = busy;
    this.opts.onBusy(busy);
  }
}
