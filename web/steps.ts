/**
 * Main-thread work in bounded steps: each step runs in its own task after a frame, so that the
 * browser lays out and paints the previous step's DOM, and handles input, in between. Steps are
 * batched up to a cost budget (budget.ts's limit on typesetting per step). A new run cancels
 * the steps of the previous one that have not run yet.
 */
export interface Step {
  /** In the units of the budget (characters of LaTeX). */
  readonly cost: number;
  readonly run: () => void;
}

export class Steps {
  private generation = 0;

  constructor(private readonly budget: number) {}

  /** Runs the steps: the first batch now, each later batch after the next frame. */
  start(steps: readonly Step[]): void {
    const gen = ++this.generation;
    const batches: Step[][] = [];
    let cost = Infinity;
    for (const s of steps) {
      if (cost + s.cost > this.budget || batches.length === 0) {
        batches.push([]);
        cost = 0;
      }
      batches.at(-1)!.push(s);
      cost += s.cost;
    }
    const runBatch = (i: number): void => {
      if (gen !== this.generation || i >= batches.length) return;
      for (const s of batches[i]!) s.run();
      if (i + 1 < batches.length) requestAnimationFrame(() => setTimeout(() => runBatch(i + 1), 0));
    };
    runBatch(0);
  }

  /** Drops the steps not yet run. */
  cancel(): void {
    this.generation++;
  }
}
