/**
 * Answers to city commands the database refused to record (a full disk), kept in memory in the order the commands
 * came and written later (commands.ts, retryPending). Bounded: a disk that stays full must not take the memory too.
 *
 * What the bound keeps first: the results of commands that ran (their id is stored, `claimed`), over the
 * `failed`/`storage_unavailable` answers of commands whose id the database refused, which did not run. Dropped, the
 * one that did not run costs the city an answer, and it can send the command again (its id was stored nowhere); the
 * one that ran cannot be run again, and its row, left `executing`, is reported `interrupted` after a restart though
 * it ran. A hundred distinct refused commands (anyone who holds the broker can replay signed bytes within their
 * age) filled the memory and pushed out the result of a command that ran among them.
 */
import type { Counter, Registry } from 'prom-client';
import { MetricFactory } from '../gateway/core/metrics.js';

export interface PendingAnswer {
  id: string;
  type: string;
  /** Whether its id is stored: the command ran (or began to, and a restart interrupted it). */
  claimed: boolean;
}

export class PendingResults<A extends PendingAnswer> {
  private readonly queue: A[] = [];
  private readonly dropped: Counter<'type' | 'ran'>;

  constructor(
    metrics: Registry,
    readonly max: number,
  ) {
    this.dropped = new MetricFactory(metrics).counter(
      'campus_sync_command_results_dropped_total',
      'City command answers the database refused and the memory could not keep either: the city gets none (ran="false": the command did not run and can be sent again)',
      ['type', 'ran'],
    );
  }

  get length(): number {
    return this.queue.length;
  }

  /**
   * Writes them oldest first, stopping at the first `write` throws (the database still refuses: it and the rest wait
   * for the next call); `written` is told of each one taken.
   */
  flush(write: (a: A) => void, written: (a: A) => void): void {
    while (this.queue.length > 0) {
      try {
        write(this.queue[0]!);
      } catch {
        return;
      }
      written(this.queue.shift()!);
    }
  }

  has(id: string): boolean {
    return this.queue.some((a) => a.id === id);
  }

  /**
   * Keeps `a` behind the others. At the bound, the result of a command that ran takes the place of the newest answer
   * of one that did not (the older ones keep theirs: the city has waited longer for them); anything else is dropped
   * itself. Returns what was dropped, counted, or null.
   */
  keep(a: A): A | null {
    let out: A | null = null;
    if (this.queue.length >= this.max) {
      const i = a.claimed ? this.queue.findLastIndex((k) => !k.claimed) : -1;
      if (i < 0) out = a;
      else out = this.queue.splice(i, 1)[0]!;
      this.dropped.inc({ type: out.type, ran: String(out.claimed) });
    }
    if (out !== a) this.queue.push(a);
    return out;
  }
}
