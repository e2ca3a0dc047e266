/**
 * Transparent huge pages for the benchmarks' node processes.
 *
 * A fresh result is new memory, and every 4 KB page of it costs a fault at first touch: on this
 * project's virtual machines about 11 µs (bench/ceiling.ts, measurePageFault), so 72 MB of
 * Hessian pays ≈ 0.2 s before a single entry is computed. NumPy asks the kernel for huge pages on
 * its large arrays itself (madvise(MADV_HUGEPAGE)); Node cannot call madvise, but glibc (≥ 2.35)
 * does it for every allocation it takes from the system when the process starts with
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1. The bench gives that environment to every node child,
 * ricci and the JS peers alike, and times ricci's fresh result without it as well.
 */
const TUNABLE = 'glibc.malloc.hugetlb';

/** Whether `env` asks glibc's malloc for transparent huge pages. */
export function asksHugePages(env: NodeJS.ProcessEnv): boolean {
  return (env.GLIBC_TUNABLES ?? '').split(':').some((t) => t.startsWith(`${TUNABLE}=`) && t !== `${TUNABLE}=0`);
}

/** `env` with glibc's malloc asking for transparent huge pages (Linux; a tunable the user set stays). */
export function withHugePages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (process.platform !== 'linux' || (env.GLIBC_TUNABLES ?? '').includes(`${TUNABLE}=`)) return env;
  const tunables = [env.GLIBC_TUNABLES, `${TUNABLE}=1`].filter(Boolean).join(':');
  return { ...env, GLIBC_TUNABLES: tunables };
}

/** `env` with malloc on 4 KB pages: the tunable removed. */
export function withoutHugePages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = (env.GLIBC_TUNABLES ?? '').split(':').filter((t) => t !== '' && !t.startsWith(`${TUNABLE}=`));
  const out = { ...env };
  if (rest.length > 0) out.GLIBC_TUNABLES = rest.join(':');
  else delete out.GLIBC_TUNABLES;
  return out;
}
