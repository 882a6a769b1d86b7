import { Counter, Gauge, type Registry } from 'prom-client';

/** A counter summed in the component and handed to prom-client at scrape time (MetricFactory.tally). */
export interface Tally {
  add(n: number, labelValue?: string): void;
}

/**
 * Declares prom-client metrics on one registry, one line each: every component declared them as the same
 * five-line object (name, help, labels, registers), and a copy that forgot `registers` would land in the
 * global registry, which /metrics does not read.
 */
export class MetricFactory {
  constructor(private readonly registry: Registry) {}

  counter<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }

  gauge<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge<L>({ name, help, labelNames, registers: [this.registry] });
  }

  /**
   * A counter for a per-message path: `add` only sums into a map, and the sums reach prom-client when /metrics is
   * scraped. prom-client's own `inc` hashes and validates the labels on every call, 2 % of what the gateway spends
   * on a sensor message (`npm run bench -- ingest`). One label at most; without one, `add(n)`.
   */
  tally(name: string, help: string, labelName?: string): Tally {
    const sums = new Map<string, number>();
    new Counter({
      name,
      help,
      labelNames: labelName === undefined ? [] : [labelName],
      registers: [this.registry],
      collect() {
        for (const [value, n] of sums) this.inc(labelName === undefined ? {} : { [labelName]: value }, n);
        sums.clear();
      },
    });
    return { add: (n, value = '') => void sums.set(value, (sums.get(value) ?? 0) + n) };
  }

  /**
   * A counter kept by someone else (the kernel's count for a socket), read when /metrics is scraped: each scrape adds
   * what it rose by since the last. One that went down was started again (a new socket) and counts from 0. `read`
   * returning undefined (nothing to read yet) adds nothing.
   */
  counterFrom(name: string, help: string, read: () => Promise<number | undefined>): Counter {
    let last = 0;
    return new Counter({
      name,
      help,
      registers: [this.registry],
      async collect() {
        const value = await read();
        if (value === undefined) return;
        if (value > last) this.inc(value - last);
        else if (value < last) this.inc(value);
        last = value;
      },
    });
  }

  /**
   * A gauge read when /metrics is scraped, from the component's own state, so it is never stale and costs nothing
   * between scrapes. `read` returning undefined (nothing measured yet) leaves the value as it was.
   */
  sampled(name: string, help: string, read: () => number | undefined): Gauge {
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const value = read();
        if (value !== undefined) this.set(value);
      },
    });
  }
}
