/**
 * Worker threads that check cases, with a time limit per case. Derivation is synchronous, so the
 * only way to stop a case that runs too long is to terminate its worker; a fresh one takes its place.
 */
import { Worker } from 'node:worker_threads';
import type { CaseSpec, Outcome } from './case.js';
import type { FromWorker } from './worker.js';

interface Job {
  readonly spec: CaseSpec;
  readonly resolve: (o: Outcome) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Job;
  phase: string;
  timer?: NodeJS.Timeout;
  started: number;
}

const PHASES: Record<string, string> = {
  derive: 'while deriving',
  compile: 'while compiling the evaluator',
  reference: 'in the reference evaluator',
  compiled: 'in the compiled evaluator',
  oracle: 'in the mathjs oracle (finite differences), not the engine',
};

const BOOT = new URL('./boot.mjs', import.meta.url);
const ENTRY = new URL('./worker.ts', import.meta.url).href;

const empty = (id: number, failure: Outcome['failures'][number]): Outcome => ({
  id,
  failures: [failure],
  skipped: {},
  pointsChecked: 0,
  closest: { fd: 0, compiled: 0, roundtrip: 0 },
});

export class Pool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private closed = false;

  constructor(
    size: number,
    private readonly timeLimitMs: number,
    /** Heap limit per worker: a blow-up fails its case instead of exhausting a shared machine. */
    private readonly heapMb = 3072,
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  run(spec: CaseSpec): Promise<Outcome> {
    return new Promise((resolve) => {
      this.queue.push({ spec, resolve });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    const worker = new Worker(BOOT, { workerData: { entry: ENTRY }, resourceLimits: { maxOldGenerationSizeMb: this.heapMb } });
    const slot: Slot = { worker, ready: false, phase: 'start', started: 0 };
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    worker.on('error', (e) => this.replace(slot, `the worker died: ${e.message}`));
    worker.on('exit', () => this.replace(slot, 'the worker exited'));
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'ready') slot.ready = true;
    else if (m.type === 'phase') slot.phase = m.phase;
    else if (slot.job) this.finish(slot, m.outcome);
    this.dispatch();
  }

  private finish(slot: Slot, outcome: Outcome): void {
    clearTimeout(slot.timer);
    const job = slot.job!;
    slot.job = undefined;
    job.resolve(outcome);
  }

  /** The slot's worker is gone (killed for time, crashed, out of memory): fail its case, start another. */
  private replace(slot: Slot, why: string, kind: 'timeout' | 'crash' = 'crash'): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closed) return;
    const job = slot.job;
    slot.job = undefined;
    clearTimeout(slot.timer);
    slot.worker.removeAllListeners();
    void slot.worker.terminate();
    this.slots[i] = this.spawn();
    if (job) job.resolve(empty(job.spec.id, { kind, detail: why, signature: kind === 'timeout' ? `timeout in ${slot.phase}` : why }));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.job || this.queue.length === 0) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.phase = 'start';
      slot.started = performance.now();
      slot.timer = setTimeout(() => {
        const phase = PHASES[slot.phase] ?? 'before it started';
        this.replace(slot, `over the time limit of ${this.timeLimitMs} ms, ${phase}`, 'timeout');
      }, this.timeLimitMs);
      slot.worker.postMessage({ spec: job.spec });
    }
  }
}
