/** Command-line options of the benchmarks (`npm run bench -- taps --rate=2000 --cpu-prof`). */
import { join } from 'node:path';
import { ROOT } from './_children.js';

/** `--name=N`, or `dflt` when it is not given. */
export function numberArg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  if (a === undefined) return dflt;
  const n = Number(a.slice(name.length + 3));
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${a}`);
  return n;
}

/** With `--cpu-prof`, the gateway child writes a V8 CPU profile into bench/results/ (open it in Chrome's DevTools). */
export function cpuProfileFlags(): string[] {
  return process.argv.includes('--cpu-prof') ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench', 'results')}`] : [];
}

/** What both tap benchmarks take: the sending rate and run length, and how many cards and stored taps are seeded. */
export function tapLoadArgs(dflt: { cards: number; taps: number }): { rate: number; seconds: number; count: number; nCards: number; nTaps: number } {
  const rate = numberArg('rate', 1000);
  const seconds = numberArg('seconds', 10);
  return { rate, seconds, count: rate * seconds, nCards: numberArg('cards', dflt.cards), nTaps: numberArg('taps', dflt.taps) };
}
