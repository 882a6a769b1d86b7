/**
 * Per-client quotas on what a client leaves in the broker's memory: retained messages and subscriptions.
 * Both are enforced in Aedes' authorize hooks and both refuse without disconnecting: a retained publish past the
 * quota is acknowledged and passed on to current subscribers, only not kept; a subscription past the cap gets a
 * SUBACK failure for that filter. A device that is disconnected for a quota reconnects and does it again.
 */

export interface RetainedLimits {
  messages: number;
  bytes: number;
}

interface Kept {
  owner: string;
  bytes: number;
}

/**
 * Retained messages by owner (a device's id, or one shared key for anonymous clients). Services and the gateway
 * are not counted: a retained message they write takes a topic out of its previous owner's count. The ledger
 * mirrors the broker's in-memory retained store, which starts empty with the process as it does.
 */
export class RetainedQuota {
  private readonly byTopic = new Map<string, Kept>();
  private readonly totals = new Map<string, { messages: number; bytes: number }>();

  constructor(private readonly limits: RetainedLimits) {}

  /**
   * A retained message on `topic` by `owner` (undefined: not counted). Returns false if keeping it would take the
   * owner past its quota (nothing is recorded then); otherwise records it. An empty payload clears the topic.
   */
  admit(owner: string | undefined, topic: string, payloadBytes: number): boolean {
    const kept = this.byTopic.get(topic);
    if (payloadBytes === 0 || owner === undefined) {
      if (kept) this.drop(topic, kept);
      return true;
    }
    const size = Buffer.byteLength(topic) + payloadBytes;
    const total = this.totals.get(owner) ?? { messages: 0, bytes: 0 };
    const same = kept?.owner === owner;
    const messages = total.messages + (same ? 0 : 1);
    const bytes = total.bytes - (same ? kept.bytes : 0) + size;
    if (messages > this.limits.messages || bytes > this.limits.bytes) return false;
    if (kept && !same) this.drop(topic, kept);
    total.messages = messages;
    total.bytes = bytes;
    this.totals.set(owner, total);
    this.byTopic.set(topic, { owner, bytes: size });
    return true;
  }

  /** What an owner keeps now. */
  usage(owner: string): { messages: number; bytes: number } {
    return { ...(this.totals.get(owner) ?? { messages: 0, bytes: 0 }) };
  }

  private drop(topic: string, kept: Kept): void {
    this.byTopic.delete(topic);
    const total = this.totals.get(kept.owner);
    if (!total) return;
    total.messages--;
    total.bytes -= kept.bytes;
    if (total.messages <= 0) this.totals.delete(kept.owner);
  }
}

/**
 * Filters each client holds, counted from the moment its subscription is authorized: Aedes authorizes all filters
 * of one SUBSCRIBE before it adds any of them, so counting Aedes' own table would let one packet past the cap.
 * Kept per client object, so it goes with the connection; a restored persistent session is authorized (and
 * counted) again filter by filter.
 */
export class SubscriptionQuota {
  private readonly held = new WeakMap<object, Set<string>>();

  /** Whether `client` may hold `filter` (one it holds already is always fine); records it if so. */
  admit(client: object, filter: string, cap: number): boolean {
    let filters = this.held.get(client);
    if (!filters) this.held.set(client, (filters = new Set()));
    if (filters.has(filter)) return true;
    if (filters.size >= cap) return false;
    filters.add(filter);
    return true;
  }

  release(client: object, filters: readonly string[]): void {
    const held = this.held.get(client);
    if (held) for (const f of filters) held.delete(f);
  }
}
