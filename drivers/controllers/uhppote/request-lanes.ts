/**
 * One controller's requests, one at a time (it answers in order), in two lanes. The second is the event log's reads
 * (events.ts): after an outage, a thousand of them, each waiting its settle time for a forger's second reply. In one
 * FIFO chain a lockdown's cut on a controller back from an outage went one card request per log read: 25 s for the
 * demo school's 450 cards behind a 1,000-entry log (test/controllers/lockdown.test.ts), minutes for a school of 5,000
 * behind a day's log, its doors normally closed to security staff all the while. The controller keeps its log, so
 * reading it can wait: a request in the first lane goes before the second's, unless the second's oldest has waited
 * SECOND_LANE_MAX_WAIT_MS. A card sync then costs a live swipe's record, or a door alarm, at most about that much
 * delay, and its own run a log read (~20 ms) per second.
 */
export type Lane = 'first' | 'second';

const SECOND_LANE_MAX_WAIT_MS = 1000;

interface Queue {
  first: (() => Promise<void>)[];
  second: { task: () => Promise<void>; since: number }[];
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
      if (!q) this.queues.set(serial, (q = { first: [], second: [], busy: false, deferred: false }));
      const run = (): Promise<void> => task().then(resolve, reject);
      if (lane === 'first') q.first.push(run);
      else q.second.push({ task: run, since: this.now() });
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
    return q.second.length > 0 && this.now() - q.second[0]!.since >= SECOND_LANE_MAX_WAIT_MS;
  }

  private take(serial: number, q: Queue): void {
    const task = this.overdue(q) ? q.second.shift()!.task : (q.first.shift() ?? q.second.shift()?.task);
    if (!task) {
      this.queues.delete(serial);
      return;
    }
    q.busy = true;
    void task().finally(() => {
      q.busy = false;
      this.next(serial, q);
    });
  }
}
