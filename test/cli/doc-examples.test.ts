/**
 * The shell examples that the README and `ricci --help` show print what they say: every
 * `$ npx ricci derive …` line of the README's ```sh blocks is run, and what follows it up to the
 * next `$` line is its stdout and stderr together; every help example with a `# …` comment is
 * run, and the comment is its stdout.
 */
import { expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/main.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Split a command line the way a POSIX shell does for words, "double quotes" and 'single quotes'. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"([^"]*)"|'([^']*)'|(\S+))/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null && m[0].trim() !== '') out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

function cli(args: string[]): string {
  let text = '';
  run(args, { out: (s) => (text += s), err: (s) => (text += s), readFile: () => '' });
  return text;
}

interface Example {
  command: string;
  expected: string;
}

function readmeExamples(): Example[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const examples: Example[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    let current: Example | null = null;
    for (const line of block[1]!.split('\n')) {
      if (line.startsWith('$ ')) {
        current = /^\$ npx ricci derive /.test(line) && !line.includes('>') ? { command: line.slice(2), expected: '' } : null;
        if (current) examples.push(current);
      } else if (current && line !== '') current.expected += line + '\n';
    }
  }
  return examples;
}

function helpExamples(): Example[] {
  const help = cli(['--help']);
  const section = help.slice(help.indexOf('Examples:'));
  return [...section.matchAll(/^ {2}(ricci derive .*?)\s+# (.+)$/gm)].map((m) => ({ command: m[1]!, expected: m[2]! + '\n' }));
}

test('every derive example of the README prints what the README shows', () => {
  const examples = readmeExamples();
  expect(examples.length).toBeGreaterThanOrEqual(6);
  for (const { command, expected } of examples) {
    expect(cli(words(command).slice(2)), command).toBe(expected);
  }
});

test('every annotated example of ricci --help prints its comment', () => {
  const examples = helpExamples();
  expect(examples.length).toBeGreaterThanOrEqual(2);
  for (const { command, expected } of examples) {
    expect(cli(words(command).slice(1)), command).toBe(expected);
  }
});
