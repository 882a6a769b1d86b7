/**
 * A controller's requests in two lanes (request-lanes.ts): a card sync's requests, each asked a few promise steps
 * after the last one's reply, go before the event log's reads, but a log read never waits more than a second.
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
  /** A sync: n requests, each asked after the last one's reply and a few promise steps. */
  const sync = async (n: number, onEach: (i: number) => void = () => {}): Promise<void> => {
    for (let i = 0; i < n; i++) {
      await ask('first', `card${i}`);
      await Promise.resolve().then(() => undefined);
      onEach(i);
    }
  };

  it('puts a sync before the log reads waiting, one request at a time, and then reads the log in order', async () => {
    done.length = 0;
    now = 0;
    const log = [ask('second', 'log0'), ask('second', 'log1')];
    await Promise.all([sync(5), ...log]);
    // Asked first, on an idle controller, the log still waits: the sync asked in the same turn.
    expect(done).toEqual(['card0', 'card1', 'card2', 'card3', 'card4', 'log0', 'log1']);
  });

  it('lets a log read through once it has waited a second, whatever the sync still has to do', async () => {
    done.length = 0;
    now = 0;
    const s = sync(6, (i) => {
      if (i === 0) void ask('second', 'log');
      if (i === 2) now += 1000;
    });
    await s;
    await new Promise((r) => setImmediate(r));
    expect(done).toEqual(['card0', 'card1', 'card2', 'log', 'card3', 'card4', 'card5']);
  });

  it('hands a failed request its error and goes on with the next', async () => {
    const failed = lanes.run(2, 'first', () => Promise.reject(new Error('no answer')));
    const next = lanes.run(2, 'second', async () => 'read');
    await expect(failed).rejects.toThrow('no answer');
    await expect(next).resolves.toBe('read');
  });
});
