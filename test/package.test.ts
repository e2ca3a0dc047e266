/**
 * The package installs anywhere: `npm pack` holds the built library, its types, the command and
 * the README — no sources, tests, benches, source maps or files left from an earlier build —
 * and the tarball installed into a fresh project works from an ES module, from TypeScript (the
 * types resolve and are not `any`) and as `npx ricci`.
 *
 * Needs the build (`npm test` runs it first). Installing resolves the runtime dependencies from
 * the npm cache where it can (--prefer-offline), from the registry otherwise.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The environment without the npm_* variables of an enclosing `npm test`, which would steer the child npm. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

function run(cmd: string, args: string[], cwd: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: cleanEnv(), timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

let packed: string[] = [];
let tarball = '';
let project = '';

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run npm run build (npm test does) first');
  const dest = mkdtempSync(join(tmpdir(), 'ricci-pack-'));
  // The build is already there: --ignore-scripts keeps `prepare` from building again.
  const json = execFileSync(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], { cwd: ROOT, encoding: 'utf8', env: cleanEnv() });
  const info = JSON.parse(json) as [{ filename: string; files: { path: string }[] }];
  packed = info[0].files.map((f) => f.path).sort();
  tarball = join(dest, info[0].filename);
  project = mkdtempSync(join(tmpdir(), 'ricci-user-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'ricci-user', version: '1.0.0', private: true, type: 'module' }));
  const r = run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], project);
  if (r.code !== 0) throw new Error(`npm install of the tarball failed:\n${r.err}`);
}, 600_000);

describe('the tarball', () => {
  test('holds the command, the built library with its types, package.json and the README (and a licence), nothing else', () => {
    const other = packed.filter((p) => !/^dist\/.*\.(js|d\.ts)$/.test(p) && !/^LICEN[CS]E/.test(p));
    expect(other).toEqual(['README.md', 'bin/ricci.js', 'package.json']);
    for (const p of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/syntax/generated/grammar.js', 'dist/codegen/torch.js'])
      expect(packed).toContain(p);
  });

  test('every file in dist comes from a source file of this build (no leftovers)', () => {
    const sources = new Set(filesUnder(join(ROOT, 'src')).map((f) => relative(join(ROOT, 'src'), f).replace(/\.ts$/, '')));
    const stale = packed.filter((p) => p.startsWith('dist/')).filter((p) => !sources.has(p.slice('dist/'.length).replace(/(\.d\.ts|\.js)$/, '')));
    expect(stale).toEqual([]);
  });
});

describe('installed in a fresh project', () => {
  test('imports from an ES module', () => {
    writeFileSync(
      join(project, 'use.mjs'),
      `import { hessian, generateCode } from 'ricci';
const H = hessian("x'*A*x", 'x', { let: { A: 'symmetric matrix' } });
console.log(H.matrix, Array.from(H.compile()({ A: [[2, 1], [1, 3]], x: [1, 2] }).data).join(','));
console.log(generateCode("x'*x", 'x', { lang: 'torch' }).includes('import torch'));
`,
    );
    expect(run(process.execPath, ['use.mjs'], project)).toEqual({ code: 0, out: '2*A 4,2,2,6\ntrue\n', err: '' });
  });

  test('types resolve from TypeScript (strict, nodenext, library .d.ts checked)', () => {
    writeFileSync(
      join(project, 'use.ts'),
      `import { hessian, generateCode, RicciError, type CodeLang, type Derivative, type Tensor } from 'ricci';
const H: Derivative = hessian("x'*A*x", 'x');
const t: Tensor = H.compile()({ A: [[2, 1], [0, 3]], x: [1, 2] });
const lang: CodeLang = 'torch';
const src: string = generateCode("x'*x", 'x', { lang, order: 2 });
// @ts-expect-error: matrix is string | null, so the types are real and not any
const wrong: number = H.matrix;
export { t, src, wrong, RicciError };
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: [] }, files: ['use.ts'] }),
    );
    expect(run(process.execPath, [TSC, '-p', '.'], project)).toEqual({ code: 0, out: '', err: '' });
  });

  test('npx ricci derive, and code --check without a TypeScript compiler in reach', () => {
    expect(run(NPM, ['exec', '--no', '--', 'ricci', 'derive', "x'*A*x", '--wrt', 'x'], project)).toEqual({ code: 0, out: "(A + A')*x\n", err: '' });
    const ts = run(NPM, ['exec', '--no', '--', 'ricci', 'code', 'sum(exp(A*x))', '--wrt', 'x', '--order', '2', '--lang', 'ts', '--check'], project);
    expect(ts.code).toBe(0);
    expect(ts.out).toMatch(/^gradient +\S+\nhessian +\S+\n$/);
    // The project has no TypeScript, so the check says it ran the JavaScript twin.
    expect(ts.err).toMatch(/no TypeScript compiler found: ran the JavaScript twin/);
  });
});
