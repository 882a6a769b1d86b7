import type { Logger } from './logger.js';

/**
 * Logs a line per key at most once per interval, with how many were held back since the last one: a reader
 * sending garbage ten times a second must not fill the disk with the same line.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly intervalMs = 60_000,
  ) {}

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    this.write('warn', key, fields, msg);
  }

  /** The same limit for a fault of the gateway's own that one message can trigger again and again. */
  error(key: string, fields: Record<string, unknown>, msg: string): void {
    this.write('error', key, fields, msg);
  }

  private write(level: 'warn' | 'error', key: string, fields: Record<string, unknown>, msg: string): void {
    const t = this.now();
    const entry = this.last.get(key);
    if (entry && t - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    if (this.last.size > 1000) this.last.clear(); // however many keys a caller makes up (client ids), the map stays small
    this.last.set(key, { at: t, suppressed: 0 });
    this.log[level](suppressed ? { ...fields, suppressed } : fields, msg);
  }
}
