/**
 * The README's library example runs as written: its ```ts block under "## Library" is executed
 * (with 'ricci' pointing at src/index.ts) and each console.log line must print what the `// →`
 * comment after it says.
 */
import { expect, test } from 'vitest';
import { readFileSync, mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

test('the README library example prints what it says', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Library'));
  const block = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
  const expected = block.split('\n').filter((l) => l.startsWith('// → ')).map((l) => l.slice(5));
  expect(expected.length).toBeGreaterThanOrEqual(5);
  mkdirSync(join(root, 'test-results'), { recursive: true });
  const dir = mkdtempSync(join(root, 'test-results', 'readme-'));
  try {
    const file = join(dir, 'readme-example.ts');
    writeFileSync(file, block.replace("from 'ricci'", `from ${JSON.stringify(join(root, 'src/index.js'))}`));
    const p = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(p.stderr.replace(/npm warn.*\n/g, '')).toBe('');
    expect(p.status).toBe(0);
    // console.log of objects may span lines; compare with whitespace collapsed.
    const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();
    const out = norm(p.stdout);
    let at = 0;
    for (const want of expected) {
      const k = out.indexOf(norm(want), at);
      expect(k, `missing in the output: ${want}\n--- output:\n${p.stdout}`).toBeGreaterThanOrEqual(0);
      at = k + norm(want).length;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
