import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Puts every thread of this process but the main one at the lowest priority (nice 19), and returns how many.
 *
 * The main thread runs the event loop that answers the readers. The others (V8's garbage-collector and compiler
 * helpers, libuv's pool for file and crypto work) do work that can wait a few milliseconds. On a 2-core box a helper
 * that wakes on the event loop's core can hold it for 4–8 ms while the other core is idle (seen with the kernel's
 * sched_switch trace during `npm run bench -- taps`), and every tap that arrives meanwhile waits. Threads started
 * later inherit their creator's priority; the WAL checkpointer lowers its own.
 *
 * Linux keeps a nice value per thread and lets a process lower its own threads' priority without privileges.
 * Elsewhere, or without /proc, this does nothing.
 */
export function yieldHelperThreads(): number {
  if (process.platform !== 'linux') return 0;
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  let lowered = 0;
  for (const tid of tids.map(Number)) {
    if (tid === process.pid) continue;
    try {
      setPriority(tid, 19);
      lowered++;
    } catch {
      // exited meanwhile, or refused (a sandbox): it keeps its priority
    }
  }
  return lowered;
}
