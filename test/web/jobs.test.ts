import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Jobs, type Outcome, type WorkerLike } from '../../web/jobs.js';
import type { Reply, ReplyMessage, Request, RequestMessage } from '../../web/protocol.js';
import { DEFAULT_STATE, type State } from '../../web/state.js';

/** A worker that answers only when the test says so. */
class FakeWorker implements WorkerLike {
  onmessage: ((ev: MessageEvent<ReplyMessage>) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  readonly received: RequestMessage[] = [];
  terminated = false;
  postMessage(m: RequestMessage): void {
    if (this.terminated) throw new Error('posted to a terminated worker');
    this.received.push(m);
  }
  terminate(): void {
    this.terminated = true;
  }
  answer(reply: Reply, partial = false, at = this.received.length - 1): void {
    this.onmessage?.({ data: { id: this.received[at]!.id, reply, partial } } as MessageEvent<ReplyMessage>);
  }
  fail(message: string): void {
    this.onerror?.({ message, preventDefault: () => undefined } as ErrorEvent);
  }
}

const LIMIT = 1000;
const GRACE = 50;
const BUSY = 150;

let workers: FakeWorker[];
let busy: boolean[];
let jobs: Jobs;

const derive = (expr: string, s: Partial<State> = {}): Request => ({ kind: 'derive', state: { ...DEFAULT_STATE, ...s, expr } });
const code = (expr: string): Request => ({ kind: 'code', state: { ...DEFAULT_STATE, expr } });
const answer = (expr: string): Reply => ({ kind: 'derive', computed: { vars: [], wrt: expr, shown: undefined, problem: undefined, notices: [] } });
const last = (): FakeWorker => workers.at(-1)!;

/** Resolves outcomes into a list as they come. */
function track(p: Promise<Outcome<Reply>>): Outcome<Reply>[] {
  const out: Outcome<Reply>[] = [];
  void p.then((o) => out.push(o));
  return out;
}

beforeEach(() => {
  vi.useFakeTimers();
  workers = [];
  busy = [];
  jobs = new Jobs(
    () => {
      const w = new FakeWorker();
      workers.push(w);
      return w;
    },
    { limitMs: LIMIT, graceMs: GRACE, busyAfterMs: BUSY, onBusy: (b) => busy.push(b) },
  );
});

afterEach(() => {
  vi.useRealTimers();
});

describe('the worker behind the page', () => {
  it('sends a request and hands over the answer', async () => {
    const out = track(jobs.run(derive('x')));
    expect(last().received.map((m) => m.request.kind)).toEqual(['derive']);
    last().answer(answer('x'));
    await vi.runAllTimersAsync();
    expect(out).toEqual([{ status: 'done', reply: answer('x') }]);
    expect(busy).toEqual([]);
  });

  it('a newer request of the same kind abandons the one in flight; a worker that does not answer within the grace time is replaced', async () => {
    const first = track(jobs.run(derive('tr(A^1000)')));
    const second = track(jobs.run(derive('x')));
    await vi.advanceTimersByTimeAsync(0);
    expect(first).toEqual([{ status: 'superseded' }]);
    expect(workers).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(GRACE);
    expect(workers).toHaveLength(2);
    expect(workers[0]!.terminated).toBe(true);
    expect(jobs.restarts).toBe(1);
    expect(last().received.map((m) => (m.request as { state: State }).state.expr)).toEqual(['x']);
    last().answer(answer('x'));
    await vi.advanceTimersByTimeAsync(0);
    expect(second).toEqual([{ status: 'done', reply: answer('x') }]);
  });

  it('abandoned work that answers within the grace time keeps its worker (and its answer is dropped)', async () => {
    const first = track(jobs.run(derive('a')));
    const second = track(jobs.run(derive('b')));
    last().answer(answer('a'));
    await vi.advanceTimersByTimeAsync(GRACE * 2);
    expect(workers).toHaveLength(1);
    expect(first).toEqual([{ status: 'superseded' }]);
    expect(last().received.map((m) => (m.request as { state: State }).state.expr)).toEqual(['a', 'b']);
    last().answer(answer('b'));
    await vi.advanceTimersByTimeAsync(0);
    expect(second).toEqual([{ status: 'done', reply: answer('b') }]);
  });

  it('of requests waiting, only the newest of each kind is sent, the derivative first', async () => {
    track(jobs.run(derive('a')));
    const waiting = [track(jobs.run(code('a'))), track(jobs.run(derive('a', { order: 1 })))];
    // Same expression: the code request does not abandon the derivation in flight.
    expect(workers).toHaveLength(1);
    last().answer(answer('a'));
    await vi.advanceTimersByTimeAsync(0);
    expect(last().received.map((m) => m.request.kind)).toEqual(['derive', 'derive']);
    expect(waiting[0]).toEqual([]);
  });

  it('a request about another expression abandons work of any kind in flight', async () => {
    const c = track(jobs.run(code('a')));
    track(jobs.run(derive('b')));
    await vi.advanceTimersByTimeAsync(0);
    expect(c).toEqual([{ status: 'superseded' }]);
    await vi.advanceTimersByTimeAsync(GRACE);
    expect(workers).toHaveLength(2);
    expect(last().received.map((m) => m.request.kind)).toEqual(['derive']);
  });

  it('the time limit ends work with its own outcome, and the next request runs on a fresh worker', async () => {
    const slow = track(jobs.run(derive('tr(A^1000)')));
    await vi.advanceTimersByTimeAsync(LIMIT - 1);
    expect(slow).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(slow).toEqual([{ status: 'limit', ms: LIMIT }]);
    expect(workers[0]!.terminated).toBe(true);
    const next = track(jobs.run(derive('x')));
    last().answer(answer('x'));
    await vi.advanceTimersByTimeAsync(0);
    expect(next).toEqual([{ status: 'done', reply: answer('x') }]);
  });

  it('"stop" ends work in flight and waiting', async () => {
    const a = track(jobs.run(derive('a')));
    const b = track(jobs.run(code('a')));
    jobs.stop();
    await vi.advanceTimersByTimeAsync(0);
    expect(a).toEqual([{ status: 'stopped' }]);
    expect(b).toEqual([{ status: 'stopped' }]);
    expect(workers[0]!.terminated).toBe(true);
    expect(workers).toHaveLength(2);
    expect(last().received).toEqual([]);
  });

  it('"working…" shows only for work longer than a moment, and goes when all work is done', async () => {
    track(jobs.run(derive('a')));
    await vi.advanceTimersByTimeAsync(BUSY - 10);
    last().answer(answer('a'));
    await vi.advanceTimersByTimeAsync(BUSY);
    expect(busy).toEqual([]);
    track(jobs.run(derive('b')));
    await vi.advanceTimersByTimeAsync(BUSY);
    expect(busy).toEqual([true]);
    last().answer(answer('b'));
    await vi.advanceTimersByTimeAsync(0);
    expect(busy).toEqual([true, false]);
  });

  it('a first part of the answer goes to its listener, then the answer', async () => {
    const parts: Reply[] = [];
    const out = track(jobs.run(derive('x'), (r) => parts.push(r)));
    last().answer(answer('partial'), true);
    await vi.advanceTimersByTimeAsync(0);
    expect(parts).toEqual([answer('partial')]);
    expect(out).toEqual([]);
    last().answer(answer('x'));
    await vi.advanceTimersByTimeAsync(0);
    expect(out).toEqual([{ status: 'done', reply: answer('x') }]);
  });

  it('a failing worker fails the work in flight and is replaced', async () => {
    const out = track(jobs.run(derive('x')));
    last().fail('boom');
    await vi.advanceTimersByTimeAsync(0);
    expect(out).toEqual([{ status: 'failed', message: 'boom' }]);
    expect(workers).toHaveLength(2);
  });
});
