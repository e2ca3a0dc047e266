/**
 * Worker threads that check cases, with a time limit per case. Derivation is synchronous, so the
 * only way to stop a case that runs too long is to terminate its worker; a fresh one takes its place.
 *
 * The limit counts the engine's time only (deriving, compiling, both evaluators): the workers say
 * which phase they are in. Time in the mathjs oracle is the fuzzer's own cost; a case whose oracle
 * runs past ORACLE_FACTOR × the limit is abandoned and counted, not reported as an engine failure.
 */
import { Worker } from 'node:worker_threads';
import type { CaseSpec, Failure, Outcome } from './case.js';
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
  /** When the job and the current phase started, and the engine time before this phase. */
  started: number;
  phaseStarted: number;
  engineMs: number;
}

const PHASES: Record<string, string> = {
  start: 'before it started',
  derive: 'while deriving',
  compile: 'while compiling the evaluator',
  reference: 'in the reference evaluator',
  compiled: 'in the compiled evaluator',
};
const ORACLE_FACTOR = 6;

const BOOT = new URL('./boot.mjs', import.meta.url);
const ENTRY = new URL('./worker.ts', import.meta.url).href;

const empty = (id: number, failures: Failure[], oracleTimeout = false): Outcome => ({
  id,
  failures,
  skipped: {},
  pointsChecked: 0,
  closest: { fd: 0, compiled: 0, roundtrip: 0 },
  ...(oracleTimeout ? { oracleTimeout } : {}),
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
    const slot: Slot = { worker, ready: false, phase: 'start', started: 0, phaseStarted: 0, engineMs: 0 };
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    worker.on('error', (e) => this.replace(slot, empty(slot.job?.spec.id ?? -1, [{ kind: 'crash', detail: `the worker died: ${e.message}`, signature: 'worker died' }])));
    worker.on('exit', () => this.replace(slot, empty(slot.job?.spec.id ?? -1, [{ kind: 'crash', detail: 'the worker exited', signature: 'worker exited' }])));
    return slot;
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'ready') slot.ready = true;
    else if (m.type === 'phase') this.enter(slot, m.phase);
    else if (slot.job) this.finish(slot, m.outcome);
    this.dispatch();
  }

  private enter(slot: Slot, phase: string): void {
    const now = performance.now();
    if (slot.phase !== 'oracle') slot.engineMs += now - slot.phaseStarted;
    slot.phase = phase;
    slot.phaseStarted = now;
    this.arm(slot);
  }

  /** The timer for the current phase: the engine's remaining time, or the oracle's. */
  private arm(slot: Slot): void {
    clearTimeout(slot.timer);
    const now = performance.now();
    if (slot.phase === 'oracle') {
      const left = ORACLE_FACTOR * this.timeLimitMs - (now - slot.started);
      slot.timer = setTimeout(() => this.replace(slot, empty(slot.job!.spec.id, [], true)), Math.max(0, left));
      return;
    }
    const left = this.timeLimitMs - slot.engineMs;
    slot.timer = setTimeout(() => {
      const where = PHASES[slot.phase] ?? `in ${slot.phase}`;
      const detail = `over the time limit of ${this.timeLimitMs} ms, ${where}`;
      this.replace(slot, empty(slot.job!.spec.id, [{ kind: 'timeout', detail, signature: `timeout ${slot.phase}` }]));
    }, Math.max(0, left));
  }

  private finish(slot: Slot, outcome: Outcome): void {
    clearTimeout(slot.timer);
    const job = slot.job!;
    slot.job = undefined;
    job.resolve(outcome);
  }

  /** The slot's worker is gone or must go (killed for time, crashed, out of memory): settle its case, start another. */
  private replace(slot: Slot, outcome: Outcome): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closed) return;
    const job = slot.job;
    slot.job = undefined;
    clearTimeout(slot.timer);
    slot.worker.removeAllListeners();
    void slot.worker.terminate();
    this.slots[i] = this.spawn();
    job?.resolve(outcome);
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.job || this.queue.length === 0) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.phase = 'start';
      slot.started = slot.phaseStarted = performance.now();
      slot.engineMs = 0;
      this.arm(slot);
      slot.worker.postMessage({ spec: job.spec });
    }
  }
}
