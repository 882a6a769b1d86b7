/**
 * A client's publish verdicts by topic, so the ACL (acl.ts: a split and a match against every gateway-only filter
 * and grant) runs once per topic rather than once per message. A device publishes to the same few topics all day.
 *
 * Bounded and approximately least-recently-used, at one Map lookup per hit: two generations of at most `size`
 * topics each. A topic is looked up in the current generation, then in the previous one (and moved to the current
 * one if found there); when the current one is full it becomes the previous one and the oldest is dropped whole.
 * So a client cycling through more topics than fit keeps its recent ones, where clearing everything at the bound
 * made such a client re-run the ACL for every message, and at most 2 × `size` verdicts are kept per client.
 */
export class VerdictCache<V> {
  private current = new Map<string, V>();
  private previous = new Map<string, V>();

  constructor(private readonly size = 256) {}

  /** The verdict for `topic`, from the cache or from `decide` (then kept). */
  get(topic: string, decide: (topic: string) => V): V {
    const hit = this.current.get(topic);
    if (hit !== undefined) return hit;
    const verdict = this.previous.get(topic) ?? decide(topic);
    if (this.current.size >= this.size) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(topic, verdict);
    return verdict;
  }

  /** How many verdicts are kept now (for tests). */
  get kept(): number {
    return this.current.size + this.previous.size;
  }
}
