/**
 * `npm run fuzz -- [options]`: the differential fuzzer's command line (see README, "Fuzzing").
 * Exit code 0 when every case passes, 1 when any fails, 2 on bad options.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport, runFuzz } from './run.js';
import { reproduction, specFromText } from './case.js';
import { runCase } from './check.js';

const USAGE = `npm run fuzz -- [options]

  --seed N          seed of the run (default 1); case i of a seed is always the same case
  --cases N         number of cases (default 1000)
  --order K         only derivatives of order K (default: a mix of 1, 2 and 3)
  --time-limit MS   per case, the engine's time: deriving, compiling, both evaluators (default
                    10000); a case whose mathjs oracle runs past 6× that is abandoned and counted
  --workers N       worker threads (default 2)
  --shrink-budget N checks a failure's shrinking may spend (default 100; 0: no shrinking)
  --shrink-limit N  shrink at most N failures (default 200)
  --json FILE       write the whole report as JSON
  --expr EXPR --wrt NAME [--order K] [--let "NAME: TYPE"]...
                    check one expression instead (types from our checker, sizes 3, 2, 4, 5)
  --trace           with --expr: the numbers of every point
`;

function fail(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\n\n${USAGE}`);
  process.exit(2);
}

function int(v: string | undefined, name: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < min) fail(`--${name} must be a whole number ≥ ${min}, not '${v}'`);
  return Number(v);
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        seed: { type: 'string' },
        cases: { type: 'string' },
        order: { type: 'string' },
        'time-limit': { type: 'string' },
        workers: { type: 'string' },
        'shrink-budget': { type: 'string' },
        'shrink-limit': { type: 'string' },
        json: { type: 'string' },
        expr: { type: 'string' },
        wrt: { type: 'string' },
        let: { type: 'string', multiple: true },
        trace: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const order = args.order === undefined ? undefined : int(args.order, 'order', 1, 1);
  if (order !== undefined && order > 3) fail('--order must be 1, 2 or 3');
  if (args.expr !== undefined) return checkOne(args.expr, args.wrt, order ?? 1, args.let ?? [], args.trace === true);
  const report = await runFuzz({
    seed: int(args.seed, 'seed', 1, 0),
    cases: int(args.cases, 'cases', 1000, 1),
    ...(order === undefined ? {} : { order }),
    timeLimitMs: int(args['time-limit'], 'time-limit', 10_000, 1),
    workers: int(args.workers, 'workers', 2, 1),
    shrinkBudget: int(args['shrink-budget'], 'shrink-budget', 100, 0),
    shrinkLimit: int(args['shrink-limit'], 'shrink-limit', 200, 0),
    progress: (line) => process.stderr.write(`fuzz: ${line}\n`),
  });
  if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(formatReport(report) + '\n');
  return report.failures.length === 0 ? 0 : 1;
}

function checkOne(expr: string, wrt: string | undefined, order: number, lets: readonly string[], trace: boolean): number {
  if (wrt === undefined) fail('--expr needs --wrt NAME');
  const decls: Record<string, string> = {};
  for (const l of lets) {
    const m = /^\s*(\w+)\s*:\s*(.+?)\s*$/.exec(l);
    if (!m) fail(`--let "${l}": write NAME: TYPE`);
    decls[m[1]!] = m[2]!;
  }
  const o = runCase(specFromText(expr, wrt, order, decls, 1), undefined, trace ? (l) => process.stdout.write(l + '\n') : undefined);
  process.stdout.write(`${reproduction(expr, wrt, order, decls)}\n`);
  process.stdout.write(`  points checked ${o.pointsChecked}, skipped ${JSON.stringify(o.skipped)}, derivation ${o.deriveMs?.toFixed(1) ?? '-'} ms\n`);
  for (const f of o.failures) process.stdout.write(`  ${f.kind}: ${f.detail}\n`);
  if (o.failures.length === 0) process.stdout.write(o.pointsChecked > 0 ? '  ok\n' : '  unchecked: no point in the domain was found\n');
  return o.failures.length === 0 ? 0 : 1;
}

process.exitCode = await main();
