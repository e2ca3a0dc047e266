/**
 * A fixed-seed slice of the differential fuzzer (npm run fuzz; fuzz/): a few hundred random
 * well-typed expressions, each derivative checked against mathjs finite differences, compiled
 * against reference, and its printed form parsed back; failures are shrunk and listed as one-line
 * reproductions. The whole run is 10,000 cases (README, "Fuzzing").
 */
import { expect, test } from 'vitest';
import { formatReport, runFuzz } from '../fuzz/run.js';

test('300 random expressions: no wrong value, no compiled/reference difference, no round-trip failure, crash, timeout or missing matrix form', async () => {
  const report = await runFuzz({ seed: 20240601, cases: 300, timeLimitMs: 10_000, workers: 2, shrinkBudget: 40, shrinkLimit: 12 });
  const text = formatReport(report);
  expect(report.cases).toBe(300);
  // The slice must check something: most cases have points in their domain.
  expect(report.pointsChecked).toBeGreaterThan(600);
  expect(
    report.failures.map((f) => `${f.kind}: ${f.minimal}`),
    text,
  ).toEqual([]);
  // Every result in the classes that must have a matrix form (issue 9) has one.
  expect(report.matrixRequired).toBeGreaterThan(100);
  expect(report.matrixMisses, text).toEqual([]);
  // The vec layout's printed forms were read back at a point (their round trips are among the
  // failures above), and most such results have one (99.1 % of 2,725 in the seed-1 run of 10,000).
  expect(report.vecResults).toBeGreaterThan(50);
  expect(report.vecMatrixForms, text).toBeGreaterThan(0.9 * report.vecResults);
});
