/**
 * What domains, drivers and flows see of the embedded broker: publish as the gateway, and subscribe
 * in-process. Messages the gateway publishes bypass device ACLs; they are the only writers of gateway topics.
 */
export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
}

export type MessageHandler = (topic: string, payload: Buffer) => void;

export interface SubscribeOptions {
  /**
   * Receive taps (`campus/readers/<id>/tap`) with the card holder's PIN. The broker takes the PIN out of every tap
   * before routing it; only the access decision asks for it back (docs/security.md).
   */
  tapPin?: boolean;
}

export interface MqttPort {
  publish(topic: string, payload: string | Buffer | object, opts?: PublishOptions): Promise<void>;
  /** Resolves once the subscription is active; the returned function removes it. */
  subscribe(filter: string, handler: MessageHandler, opts?: SubscribeOptions): Promise<() => Promise<void>>;
}

/** MQTT topic-filter matching (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  return levelsMatch(filter.split('/'), topic.split('/'));
}

/** The same on pre-split levels, for hot paths that test one topic against many filters. */
export function levelsMatch(f: readonly string[], t: readonly string[]): boolean {
  for (let i = 0; i < f.length; i++) {
    const part = f[i];
    if (part === '#') return true;
    if (i >= t.length) return false;
    if (part !== '+' && part !== t[i]) return false;
  }
  return f.length === t.length;
}
