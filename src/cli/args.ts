/** Command-line parsing for the CLI: positional arguments and --options, with usage errors. */
import { RicciError } from '../errors.js';

export interface OptionSpec {
  readonly takesValue: boolean;
  readonly repeatable?: boolean;
}

export interface ParsedArgs {
  readonly positional: string[];
  readonly options: Map<string, string[]>;
  readonly flags: Set<string>;
}

export function usageError(message: string): RicciError {
  return new RicciError('usage', message);
}

export function parseArgs(argv: readonly string[], spec: Readonly<Record<string, OptionSpec>>): ParsedArgs {
  const positional: string[] = [];
  const options = new Map<string, string[]>();
  const flags = new Set<string>();
  let rest = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    // Only --name is an option, so an expression may start with a minus sign ("-x'*x").
    if (rest || !a.startsWith('--')) {
      if (!rest && a === '-h') flags.add('help');
      else positional.push(a);
      continue;
    }
    if (a === '--') {
      rest = true;
      continue;
    }
    const eq = a.indexOf('=');
    const key = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    const s = spec[key];
    if (!s) throw usageError(`unknown option '--${key}'`);
    if (!s.takesValue) {
      if (eq >= 0) throw usageError(`--${key} takes no value`);
      flags.add(key);
      continue;
    }
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw usageError(`--${key} needs a value`);
      value = argv[++i]!;
    }
    const list = options.get(key) ?? [];
    if (list.length > 0 && !s.repeatable) throw usageError(`--${key} given more than once`);
    list.push(value);
    options.set(key, list);
  }
  return { positional, options, flags };
}
