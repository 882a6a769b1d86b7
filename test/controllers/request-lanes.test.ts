/**
 * A controller's requests in two lanes (request-lanes.ts): a card sync's requests, each asked a few promise steps
 * after the last one's reply, go before the event log's reads, but the log is read on, one read per 100 ms.
 */
import { describe, expect, it } from 'vitest';
import { RequestLanes, type Lane } from '../../drivers/controllers/uhppote/request-lanes.js';

/** A request that takes one turn of the event loop, as a reply over a socket does. */
const reply = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('request lanes', () => {
  let now = 0;
  const lanes = new RequestLanes(() => now);
  const done: string[] = [];
  const ask = (lane: Lane, name: string): Promise<void> =>
    lanes.run(1, lane, async () => {
      await reply();
      done.push(name);
    });
  /** A sync: n requests, each asked after the last one's reply and a few promise steps; `each` after each reply. */
  const sync = async (n: number, each: () => void = () => {}): Promise<void> => {
    for (let i = 0; i < n; i++) {
      await ask('first', `card${i}`);
      await Promise.resolve();
      each();
    }
  };

  it('puts a sync before the log reads that wait, one request at a time, and then reads the log in order', async () => {
    done.length = 0;
    now = 0;
    await Promise.all([ask('second', 'log0'), ask('second', 'log1'), sync(5)]);
    // An idle controller's log read goes at once; the next waits for the whole sync while no time passes.
    expect(done).toEqual(['log0', 'card0', 'card1', 'card2', 'card3', 'card4', 'log1']);
  });

  it('reads the log on during a long sync, one read per 100 ms', async () => {
    done.length = 0;
    now = 10_000;
    // Each card request takes 40 ms of the clock. One log read each turn before made the sync wait as long as the log.
    await Promise.all([ask('second', 'log0'), ask('second', 'log1'), ask('second', 'log2'), sync(8, () => (now += 40))]);
    expect(done).toEqual(['log0', 'card0', 'card1', 'card2', 'log1', 'card3', 'card4', 'card5', 'log2', 'card6', 'card7']);
  });

  it('hands a failed request its error, also one that throws at once, and goes on with the next', async () => {
    const failed = lanes.run(2, 'first', () => Promise.reject(new Error('no answer')));
    const threw = lanes.run(2, 'first', () => {
      throw new Error('bad request');
    });
    const next = lanes.run(2, 'second', async () => 'read');
    await expect(failed).rejects.toThrow('no answer');
    await expect(threw).rejects.toThrow('bad request');
    await expect(next).resolves.toBe('read');
  });
});
