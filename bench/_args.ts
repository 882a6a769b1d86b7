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

/**
 * What both tap benchmarks take: the sending rate, run length and warm-up, and how many cards and stored taps are
 * seeded. The warm-up (`--warm-up-s`, 4 s at the run's rate, for the bare broker and the gateway alike) is not measured:
 * a fresh process still compiles its hot path for the first two to three seconds at 1,000 messages a second. Measured
 * here per second from start (p99 ms): the bare broker 2.45, 2.00, 0.71, 0.53, 0.36; the gateway's taps over 1.5 ms
 * 80, 62, 19, 7, 7, with V8's compiler threads taking 290 ms of CPU in the first 3 s against 50 ms when warm. With the
 * 500 messages it had before, the floor was measured while it compiled (its p99 0.55–1.15 ms from run to run) and the
 * goal moved with it. A school's gateway has been running since before the rush.
 */
export function tapLoadArgs(dflt: { cards: number; taps: number }): { rate: number; seconds: number; count: number; warmUp: number; nCards: number; nTaps: number } {
  const rate = numberArg('rate', 1000);
  const seconds = numberArg('seconds', 10);
  return {
    rate, seconds, count: rate * seconds, warmUp: Math.round(rate * numberArg('warm-up-s', 4)),
    nCards: numberArg('cards', dflt.cards), nTaps: numberArg('taps', dflt.taps),
  };
}
