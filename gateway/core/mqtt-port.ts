/**
 * What domains, drivers and flows see of the embedded broker: publish as the gateway, and subscribe
 * in-process. Messages the gateway publishes bypass device ACLs; they are the only writers of gateway topics.
 */
export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
}

export type MessageHandler = (topic: string, payload: Buffer) => void;

export interface MqttPort {
  publish(topic: string, payload: string | Buffer | object, opts?: PublishOptions): Promise<void>;
  /** Resolves once the subscription is active; the returned function removes it. */
  subscribe(filter: string, handler: MessageHandler): Promise<() => Promise<void>>;
}

/** MQTT topic-filter matching (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const part = f[i];
    if (part === '#') return true;
    if (i >= t.length) return false;
    if (part !== '+' && part !== t[i]) return false;
  }
  return f.length === t.length;
}
