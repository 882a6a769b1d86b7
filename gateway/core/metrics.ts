import { Counter, Gauge, type Registry } from 'prom-client';

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
