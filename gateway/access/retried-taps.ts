/**
 * A reader retrying a tap (or QoS 1 redelivering it) gets the first answer again rather than a second decision:
 * the answers of the last taps per reader, by the reader's sequence number.
 */
import type { Tap } from '../core/taps.js';

/** A reader retrying a tap (or QoS 1 redelivering it) within this time gets the first answer again. */
const DUPLICATE_WINDOW_MS = 10 * 60_000;
const RECENT_SEQS_PER_READER = 256;
/** How often answers older than the window are let go, every reader's at once. */
const SWEEP_INTERVAL_MS = 60_000;

interface RecentSeq<T> {
  uid: string;
  amount: number | undefined;
  at: number;
  /** The gateway's time when it was remembered: the sweep goes by this, not by the reader's clock. */
  seenAt: number;
  answer: Promise<T | null>;
}

/**
 * Answers are let go once no retry can get them. Kept until the per-reader cap alone, a 200-reader school held 256
 * answers per reader (~27 MB) for good, of which a retry could use only the last ten minutes'.
 */
export class RetriedTaps<T> {
  private readonly recentSeqs = new Map<string, Map<number, RecentSeq<T>>>();
  private lastSweep = -Infinity;

  constructor(private readonly now: () => number) {}

  /** The first answer to this tap (numbered `seq` by its reader) when it is a retry of one seen lately; undefined for a new tap. */
  answerOf(tap: Tap, seq: number): Promise<T | null> | undefined {
    const r = this.recentSeqs.get(tap.readerId)?.get(seq);
    // A reader that restarted its numbering sends an old seq for a new card or amount: that is a new tap.
    // Object.is: an unreadable amount (NaN) repeated is the same tap again.
    if (!r || r.uid !== tap.uid || !Object.is(r.amount, tap.amount) || Math.abs(tap.at - r.at) > DUPLICATE_WINDOW_MS) return undefined;
    return r.answer;
  }

  remember(tap: Tap, seq: number, answer: Promise<T | null>): void {
    const now = this.now();
    let m = this.recentSeqs.get(tap.readerId);
    if (!m) this.recentSeqs.set(tap.readerId, (m = new Map()));
    // A payment's number keeps its first answer, as the wallet keeps its first outcome: another card or amount under
    // it (a seq_conflict) must not take the place of the payment a retry is about.
    const prior = m.get(seq);
    if (prior && tap.amount !== undefined && Math.abs(tap.at - prior.at) <= DUPLICATE_WINDOW_MS) return;
    m.delete(seq);
    m.set(seq, { uid: tap.uid, amount: tap.amount, at: tap.at, seenAt: now, answer: answer.catch(() => null) });
    if (m.size > RECENT_SEQS_PER_READER) m.delete(m.keys().next().value!);
    if (now - this.lastSweep >= SWEEP_INTERVAL_MS || now < this.lastSweep) this.sweep(now);
  }

  /** Answers kept now, over all readers (for tests). */
  get kept(): number {
    let n = 0;
    for (const m of this.recentSeqs.values()) n += m.size;
    return n;
  }

  /** Lets go of every answer remembered longer ago than the window. Each reader's are in the order they came. */
  private sweep(now: number): void {
    this.lastSweep = now;
    const cutoff = now - DUPLICATE_WINDOW_MS;
    for (const [readerId, m] of this.recentSeqs) {
      for (const [seq, r] of m) {
        if (r.seenAt >= cutoff) break;
        m.delete(seq);
      }
      if (m.size === 0) this.recentSeqs.delete(readerId);
    }
  }
}
