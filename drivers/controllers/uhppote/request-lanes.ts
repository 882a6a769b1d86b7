/**
 * One controller's requests, one at a time (it answers in order), in two lanes. The second is the event log's reads
 * (events.ts): after an outage, a thousand of them, each waiting its settle time for a forger's second reply. In one
 * FIFO chain a lockdown's cut on a controller back from an outage went one card request per log read: 25 s for the
 * demo school's 450 cards behind a 1,000-entry log (test/controllers/lockdown.test.ts), minutes for a school of 5,000
 * behind a day's log, its doors normally closed to security staff all the while. The controller keeps its log, so
 * reading it can wait, but not for a whole card sync: a door alarm or the swipe of a card swapped in during a lockdown
 * is in it. While the first lane has requests, the second starts one every SECOND_LANE_EVERY_MS: a log read and its
 * settle time take ~20 ms, so a card sync runs ~20 % slower and the log is read at ~10 entries a second meanwhile (an
 * attacker review, 2026-12-07, found a per-read wait of 1 s reading one entry a second, a backlog growing behind it).
 */
export type Lane = 'first' | 'second';

const SECOND_LANE_EVERY_MS = 100;

interface Queue {
  first: (() => Promise<void>)[];
  second: (() => Promise<void>)[];
  /** When the second lane last started a request (the clock's ms). */
  secondAt: number;
  busy: boolean;
  /** The next request is picked one turn of the event loop later (next). */
  deferred: boolean;
}

export class RequestLanes {
  private readonly queues = new Map<number, Queue>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Runs `task` after the controller's earlier requests, as its lane allows; its result is the task's. */
  run<T>(serial: number, lane: Lane, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let q = this.queues.get(serial);
      if (!q) this.queues.set(serial, (q = { first: [], second: [], secondAt: -Infinity, busy: false, deferred: false }));
      // Promise.resolve first: a task that threw at once would leave the queue busy for good.
      q[lane].push(() => Promise.resolve().then(task).then(resolve, reject));
      this.next(serial, q);
    });
  }

  private next(serial: number, q: Queue): void {
    if (q.busy || q.deferred) return;
    if (q.first.length > 0 || q.second.length === 0 || this.overdue(q)) return this.take(serial, q);
    // A card sync asks for its next request a few promise steps after its last reply: picked at once, a log read would
    // take every other turn. One turn of the event loop later, the sync has asked if it will.
    q.deferred = true;
    setImmediate(() => {
      q.deferred = false;
      this.take(serial, q);
    });
  }

  private overdue(q: Queue): boolean {
    return q.second.length > 0 && this.now() - q.secondAt >= SECOND_LANE_EVERY_MS;
  }

  private take(serial: number, q: Queue): void {
    const first = this.overdue(q) ? undefined : q.first.shift();
    const task = first ?? q.second.shift();
    if (!task) {
      this.queues.delete(serial);
      return;
    }
    if (!first) q.secondAt = this.now();
    q.busy = true;
    void task().finally(() => {
      q.busy = false;
      this.next(serial, q);
    });
  }
}
