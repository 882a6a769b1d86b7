/**
 * Work a component has started and not yet seen finish: a tap being decided, a snapshot being stored, a clip being
 * cut. Its stop() waits for `idle()` before it resolves, because the composition root closes the database right
 * after the last module has stopped (gateway/compose.ts): work left running wrote to the closed database, or was
 * lost with a logged "The database connection is not open".
 */
export class InFlight {
  private readonly jobs = new Set<Promise<unknown>>();

  /** Keeps `job` until it settles; returns it as it is (its rejection is still the caller's to handle). */
  track<T>(job: Promise<T>): Promise<T> {
    this.jobs.add(job);
    const done = (): void => void this.jobs.delete(job);
    job.then(done, done);
    return job;
  }

  get size(): number {
    return this.jobs.size;
  }

  /** Resolves once every job, including any started while it waits, has settled; never rejects. */
  async idle(): Promise<void> {
    while (this.jobs.size > 0) await Promise.allSettled([...this.jobs]);
  }
}
