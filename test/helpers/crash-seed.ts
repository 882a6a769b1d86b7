/**
 * The seed of a crash test's kill point: CRASH_SEED from the environment to replay a run, else a fresh one. Printed
 * always (with the test's name), so a failing run in CI can be replayed exactly: `CRASH_SEED=<n> npx vitest run ...`.
 */
import { seededRandom } from '../../gateway/core/seeded-random.js';

export function crashRandom(test: string): { seed: number; random: () => number } {
  const fromEnv = process.env.CRASH_SEED;
  if (fromEnv !== undefined && !/^\d+$/.test(fromEnv)) throw new Error(`CRASH_SEED must be a non-negative integer, not "${fromEnv}"`);
  const seed = fromEnv !== undefined ? Number(fromEnv) % 2 ** 32 : Math.floor(Math.random() * 2 ** 32);
  console.log(`${test}: CRASH_SEED=${seed}${fromEnv !== undefined ? ' (from the environment)' : ''}`);
  return { seed, random: seededRandom(seed) };
}
