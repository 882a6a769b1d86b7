/**
 * The city's clock as its HTTP answers give it: the `Date` header every HTTP server sends. Compared with the gateway's
 * clock at the midpoint of the request (the answer was made somewhere between sending and receiving), it is one of the
 * clock guard's sources (gateway/time/clock-guard.ts). It only ever raises a warning: the gateway never sets its clock
 * from the city, so a wrong or hostile header costs at most a false `clock_unsynchronized`.
 *
 * MQTT gives no such reading: a PUBACK carries no time, and a command's `issuedAt` says when the city signed it, not
 * when it arrived (a queued command arrives later), so the MQTT transport offers no upstream time.
 */
import { performance } from 'node:perf_hooks';

/** Samples kept: the median of a few resists one odd answer (a proxy's cached response). */
const KEEP = 5;
/** A reading older than this no longer counts (the poll runs every `cloud.http.commandPollS`, 15 s by default). */
const MAX_AGE_MS = 10 * 60_000;

export class UpstreamClock {
  private readonly samples: { offsetMs: number; at: number }[] = [];

  /** `mono` is a monotonic clock (ms), for the age of a reading: the wall clock is what is being checked. */
  constructor(private readonly mono: () => number = () => performance.now()) {}

  /**
   * One answer: its `Date` header and the gateway's clock when the request went and when the answer came (epoch ms).
   * A missing or unreadable header is ignored.
   */
  record(dateHeader: string | undefined, sentAt: number, receivedAt: number): void {
    if (!dateHeader || dateHeader.length > 64) return;
    const city = Date.parse(dateHeader);
    if (!Number.isFinite(city) || receivedAt < sentAt) return;
    // The header is truncated to the second: the middle of that second is the best guess.
    const offsetMs = city + 500 - (sentAt + receivedAt) / 2;
    this.samples.push({ offsetMs, at: this.mono() });
    if (this.samples.length > KEEP) this.samples.shift();
  }

  /** The city's clock minus the gateway's (ms): the median of the recent readings, or null when there are none. */
  offsetMs(): number | null {
    const now = this.mono();
    const fresh = this.samples.filter((s) => now - s.at <= MAX_AGE_MS).map((s) => s.offsetMs).sort((a, b) => a - b);
    if (fresh.length === 0) return null;
    const mid = fresh.length >> 1;
    return fresh.length % 2 ? fresh[mid]! : (fresh[mid - 1]! + fresh[mid]!) / 2;
  }
}
