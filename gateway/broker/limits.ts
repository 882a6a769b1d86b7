/**
 * The broker's limits on hostile or broken clients (issue 17, points 3 and 4) behind one small surface, so the
 * broker calls one method per Aedes hook: packet sizes and pending connections (connection-gate.ts), failed-login
 * backoff (login-backoff.ts), retained and subscription quotas (quotas.ts), each device's publish rate
 * (publish-rate.ts). Every refusal is counted by reason in `campus_mqtt_refused_total` and logged at most once a
 * minute per reason and address (refusals.ts).
 */
import type { Duplex } from 'node:stream';
import type { Client, PublishPacket } from 'aedes';
import { MQTT_DEFAULTS } from '../../config/mqtt-defaults.js';
import type { GatewayConfig } from '../../config/schema.js';
import type { Identity } from './acl.js';
import { ConnectionGate } from './connection-gate.js';
import { LoginBackoff, LoginBlockedError } from './login-backoff.js';
import { PublishRates, type PublishBudget } from './publish-rate.js';
import { RetainedQuota, SubscriptionQuota } from './quotas.js';
import type { Refusals } from './refusals.js';

export type BrokerLimits = Pick<
  GatewayConfig['mqtt'],
  | 'maxPacketBytes'
  | 'offlineUploadMaxBytes'
  | 'connectTimeoutMs'
  | 'maxPendingConnections'
  | 'maxPendingPerAddress'
  | 'loginBackoff'
  | 'retainedPerDevice'
  | 'maxSubscriptions'
  | 'publishRatePerDevice'
>;

/** The configured defaults, for brokers built outside the composition root (the broker bench). */
export function defaultBrokerLimits(): BrokerLimits {
  return structuredClone(MQTT_DEFAULTS);
}

/** Anonymous clients (demo mode) have no identity to tell apart: they share one retained quota. */
const ANONYMOUS_OWNER = '\0anonymous';

export class BrokerLimiter {
  private readonly gate: ConnectionGate;
  private readonly backoff: LoginBackoff;
  private readonly retainedQuota: RetainedQuota;
  private readonly subscriptionQuota = new SubscriptionQuota();
  private readonly publishRates: PublishRates;

  constructor(
    private readonly limits: BrokerLimits,
    private readonly refusals: Refusals,
  ) {
    this.gate = new ConnectionGate({
      ...limits,
      refuse: (reason, address, detail) => refusals.refuse(reason, { address, detail }, 'mqtt connection closed'),
    });
    this.backoff = new LoginBackoff(limits.loginBackoff);
    this.retainedQuota = new RetainedQuota(limits.retainedPerDevice);
    this.publishRates = new PublishRates(limits.publishRatePerDevice);
  }

  /** Aedes waits this long for a CONNECT; the gate closes a connection that has not logged in before that. */
  get aedesConnectTimeoutMs(): number {
    return this.limits.connectTimeoutMs + 1000;
  }

  /** For the WebSocket server's `maxPayload`: ws buffers a whole frame before the stream sees a byte of it. */
  get maxFrameBytes(): number {
    return this.gate.maxFrameBytes;
  }

  /** A new connection: admitted and guarded, then passed to `handle`, or closed. */
  admit(stream: Duplex, address: string | undefined, handle: (stream: Duplex) => void): void {
    this.gate.admit(stream, address ?? 'unknown', handle);
  }

  /** Aedes registered the client: its login is through. */
  loggedIn(client: Client): void {
    this.gate.loggedIn(client.conn as unknown as Duplex);
  }

  addressOf(client: Client): string {
    return this.gate.addressOf(client.conn as unknown as Duplex) ?? 'unknown';
  }

  /** Runs a login check under the per-address backoff (LoginBlockedError while the address is blocked). */
  login<T>(client: Client, check: () => Promise<T>): Promise<T> {
    return this.backoff.attempt(this.addressOf(client), check);
  }

  /** A refused login: counted and logged (at most once a minute per address); returns the CONNACK code to send. */
  loginRefused(client: Client, username: string | undefined, err: Error): 4 | 5 {
    const blocked = err instanceof LoginBlockedError;
    const fields = { address: this.addressOf(client), clientId: client.id, username, detail: err.message };
    this.refusals.refuse(blocked ? 'login_backoff' : 'auth', fields, 'mqtt login refused');
    // 5 (not authorized) while blocked: the credentials were not even checked, so "bad user name or password" would lie.
    return blocked ? 5 : 4;
  }

  /**
   * A client's retained publish, already allowed by the ACL: past the owner's quota it is made a plain publish
   * (acknowledged and delivered to current subscribers, not kept), since in MQTT 3.1.1 the only other answer is
   * to disconnect, and a device would reconnect and publish it again.
   */
  retained(client: Client, who: Identity, packet: PublishPacket): void {
    if (!packet.retain) return;
    const owner = who.kind === 'device' ? who.id : who.kind === 'anonymous' ? ANONYMOUS_OWNER : undefined;
    const bytes = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
    if (this.retainedQuota.admit(owner, packet.topic, bytes)) return;
    packet.retain = false;
    const quota = this.limits.retainedPerDevice;
    this.refusals.refuse(
      'retained_quota',
      { address: this.addressOf(client), clientId: client.id, topic: packet.topic },
      `mqtt retained message not kept: quota of ${quota.messages} messages / ${quota.bytes} bytes reached`,
    );
  }

  /** A retained message the gateway itself publishes: not counted, but it replaces whatever a device kept there. */
  gatewayRetained(topic: string, payloadBytes: number): void {
    this.retainedQuota.admit(undefined, topic, payloadBytes);
  }

  /** The publish budget of a login, taken once per message; undefined for logins that are not limited. */
  publishBudget(who: Identity): PublishBudget | undefined {
    return this.publishRates.budgetOf(who);
  }

  /** A device's publish over its rate, dropped by the broker: counted and logged (at most once a minute per address). */
  overRate(client: Client, topic: string): void {
    const { messagesPerS, burst } = this.limits.publishRatePerDevice;
    this.refusals.refuse(
      'publish_rate',
      { address: this.addressOf(client), clientId: client.id, topic: topic.slice(0, 200) },
      `mqtt publish dropped: over the device's rate of ${burst} messages at once, then ${messagesPerS} a second`,
    );
  }

  /** A subscription the ACL allows: whether the client still has room for it (counted if so). */
  subscription(client: Client, who: Identity, filter: string): boolean {
    const cap = who.kind === 'device' ? this.limits.maxSubscriptions.device : this.limits.maxSubscriptions.other;
    if (this.subscriptionQuota.admit(client, filter, cap)) return true;
    this.refusals.refuse(
      'subscription_quota',
      { address: this.addressOf(client), clientId: client.id, topic: filter },
      `mqtt subscription refused: ${cap} subscriptions held`,
    );
    return false;
  }

  unsubscribed(client: Client, filters: readonly string[]): void {
    this.subscriptionQuota.release(client, filters);
  }
}
