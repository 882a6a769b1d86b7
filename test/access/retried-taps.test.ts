/**
 * The answers kept for readers' retried taps (gateway/access/retried-taps.ts): a retry within ten minutes gets the
 * first answer, and answers no retry can get any more are let go, so a large school's gateway does not hold its
 * readers' last 256 answers each for good.
 */
import { describe, expect, it } from 'vitest';
import { RetriedTaps } from '../../gateway/access/retried-taps.js';
import type { Tap } from '../../gateway/core/taps.js';

const MINUTE = 60_000;

function setup() {
  let now = Date.UTC(2026, 8, 1, 0, 0, 0);
  const retried = new RetriedTaps<string>(() => now);
  const tap = (readerId: string, seq: number, uid = `UID${seq}`): Tap => ({ readerId, uid, seq, at: now });
  return {
    retried,
    tap,
    advance: (ms: number) => (now += ms),
    remember: (readerId: string, seq: number, answer: string) => {
      const t = tap(readerId, seq);
      retried.remember(t, seq, Promise.resolve(answer));
      return t;
    },
  };
}

describe('retried taps', () => {
  it('answers a retry with the first answer within ten minutes, and decides it anew after', async () => {
    const s = setup();
    const first = s.remember('gate-in', 7, 'granted');
    s.advance(9 * MINUTE);
    await expect(s.retried.answerOf({ ...first }, 7)).resolves.toBe('granted');
    // The same number from a reader that restarted its numbering, with another card: a new tap.
    expect(s.retried.answerOf({ ...first, uid: 'OTHER' }, 7)).toBeUndefined();
    // A retry arrives with the time it arrived at: after the window it is a new tap.
    s.advance(2 * MINUTE);
    expect(s.retried.answerOf(s.tap('gate-in', 7, first.uid), 7)).toBeUndefined();
  });

  it('lets go of answers older than the window, a quiet reader\'s too', () => {
    const s = setup();
    // A morning rush: 200 readers, 300 taps each (more than the 256 a reader keeps).
    for (let seq = 0; seq < 300; seq++) {
      for (let r = 0; r < 200; r++) s.remember(`reader-${r}`, seq, `answer ${r}/${seq}`);
      s.advance(100);
    }
    expect(s.retried.kept).toBe(200 * 256);
    // Half an hour later, one tap at one reader: every answer from the rush is past any retry.
    s.advance(30 * MINUTE);
    s.remember('reader-0', 1000, 'later');
    expect(s.retried.kept).toBe(1);
  });

  it('keeps the answers still within the window when it lets the old ones go', async () => {
    const s = setup();
    s.remember('gate-in', 1, 'old');
    s.advance(8 * MINUTE);
    const recent = s.remember('gate-out', 2, 'recent');
    s.advance(3 * MINUTE); // the first is 11 minutes old, the second 3
    s.remember('gate-in', 3, 'now');
    expect(s.retried.kept).toBe(2);
    await expect(s.retried.answerOf({ ...recent }, 2)).resolves.toBe('recent');
  });
});
