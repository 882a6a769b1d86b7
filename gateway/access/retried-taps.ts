/**
 * A reader retrying a tap (or QoS 1 redelivering it) gets the first answer again rather than a second decision:
 * the answers of the last taps per reader, by the reader's sequence number.
 */
import type { Tap } from '../core/taps.js';

/** A reader retrying a tap (or QoS 1 redelivering it) within this time gets the first answer again. */
const DUPLICATE_WINDOW_MS = 10 * 60_000;
const RECENT_SEQS_PER_READER = 256;

interface RecentSeq<T> {
  uid: string;
  amount: number | undefined;
  at: number;
  answer: Promise<T | null>;
}

export class RetriedTaps<T> {
  private readonly recentSeqs = new Map<string, Map<number, RecentSeq<T>>>();

  /** The first answer to this tap (numbered `seq` by its reader) when it is a retry of one seen lately; undefined for a new tap. */
  answerOf(tap: Tap, seq: number): Promise<T | null> | undefined {
    const r = this.recentSeqs.get(tap.readerId)?.get(seq);
    // A reader that restarted its numbering sends an old seq for a new card or amount: that is a new tap.
    // Object.is: an unreadable amount (NaN) repeated is the same tap again.
    if (!r || r.uid !== tap.uid || !Object.is(r.amount, tap.amount) || Math.abs(tap.at - r.at) > DUPLICATE_WINDOW_MS) return undefined;
    return r.answer;
  }

  remember(tap: Tap, seq: number, answer: Promise<T | null>): void {
    let m = this.recentSeqs.get(tap.readerId);
    if (!m) this.recentSeqs.set(tap.readerId, (m = new Map()));
    // A payment's number keeps its first answer, as the wallet keeps its first outcome: another card or amount under
    // it (a seq_conflict) must not take the place of the payment a retry is about.
    const prior = m.get(seq);
    if (prior && tap.amount !== undefined && Math.abs(tap.at - prior.at) <= DUPLICATE_WINDOW_MS) return;
    m.delete(seq);
    m.set(seq, { uid: tap.uid, amount: tap.amount, at: tap.at, answer: answer.catch(() => null) });
    if (m.size > RECENT_SEQS_PER_READER) m.delete(m.keys().next().value!);
  }
}
