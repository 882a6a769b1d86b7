/**
 * The last answer the gateway gave for each thing a page shows, kept in memory for this tab: when the gateway
 * stops answering, a page goes on showing it (under a notice saying from when) instead of an error or an empty
 * list, also after a re-render (another language, another page and back). Forgotten when the user signs out.
 */
import { isConnectionError } from './api.js';

export interface Kept<T> {
  value: T;
  /** When this was last known to be what the gateway has (epoch ms). */
  at: number;
}

export interface Answer<T> extends Kept<T> {
  /** True when the gateway did not answer and this is the kept answer. */
  stale: boolean;
}

/** Enough for every page and filter a guard goes through; the oldest are dropped first. */
const MAX_KEPT = 64;
const kept = new Map<string, Kept<unknown>>();

export function remember<T>(key: string, value: T, at = Date.now()): void {
  kept.delete(key);
  kept.set(key, { value, at });
  while (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value as string);
}

export function recall<T>(key: string): Kept<T> | undefined {
  return kept.get(key) as Kept<T> | undefined;
}

/** Loads and remembers; when the gateway does not answer, the kept answer if there is one, else the error. */
export async function readThrough<T>(key: string, load: () => Promise<T>): Promise<Answer<T>> {
  try {
    const value = await load();
    remember(key, value);
    return { value, at: Date.now(), stale: false };
  } catch (err) {
    const last = recall<T>(key);
    if (last && isConnectionError(err)) return { ...last, stale: true };
    throw err;
  }
}

export function forgetAll(): void {
  kept.clear();
}
