import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../core/logger.js';
import { RateLimitedLog } from '../core/rate-limited-log.js';
import type { MessageHandler, MqttPort, PublishOptions, SubscribeOptions } from '../core/mqtt-port.js';
import { verifySecret } from '../auth/secrets.js';
import { mayPublish, maySubscribe, type Identity, type Verdict } from './acl.js';
import { ClientIds, reservedIds } from './client-ids.js';
import { TapPins } from './tap-pin.js';
import type { DeviceCredential } from './grants.js';
import { FilterIndex } from './filter-index.js';
import { VerdictCache } from './verdict-cache.js';
import { BrokerLimiter, defaultBrokerLimits, type BrokerLimits } from './limits.js';
import { publishCost, type PublishBudget } from './publish-rate.js';
import { Refusals } from './refusals.js';

export interface BrokerOptions {
  host: string;
  port: number;
  allowAnonymous: boolean;
  devices: DeviceCredential[];
  services: { username: string; secretHash: string }[];
  drainTimeoutMs: number;
  maxTopicLevels: number;
  /** Packet, connection, login and quota limits (limits.ts); the configured defaults if left out. */
  limits?: BrokerLimits;
  log: Logger;
  metrics: Registry;
}

const ANONYMOUS: Identity = { kind: 'anonymous' };

/** What the broker keeps per logged-in client. `decide` is made once, so a cache miss allocates no closure. */
interface LoggedIn {
  who: Identity;
  verdicts: VerdictCache<Verdict>;
  decide: (topic: string) => Verdict;
  /** The device's publish rate (publish-rate.ts); services and anonymous clients have none. */
  budget: PublishBudget | undefined;
}

function loggedIn(who: Identity, budget: PublishBudget | undefined): LoggedIn {
  return { who, verdicts: new VerdictCache<Verdict>(), decide: (topic) => mayPublish(who, topic), budget };
}

/**
 * Where a message over its device's rate goes. Aedes can refuse a publish only by closing the connection (an error
 * from authorizePublish), and a device that is disconnected reconnects and sends again; so the message is emptied
 * and sent where no subscription reaches. Under `$SYS/`, Aedes neither delivers it to a client's wildcard filter nor
 * queues it for one in a persistent session (under any other `$` topic it would queue it for a `#` at QoS 1, never
 * to deliver it live); the gateway's own handlers subscribe under named first levels (campus/, tele/, zigbee2mqtt/);
 * and the ACL lets no device subscribe to it. A QoS 1 one is still acknowledged, so the device does not send it again.
 */
const DROPPED_TOPIC = '$SYS/campus/dropped';
const EMPTY = Buffer.alloc(0);

/** CONNACK 4 (bad user name or password) or 5 (not authorized). */
const authError = (message: string, returnCode: 4 | 5 = 4): AuthenticateError =>
  Object.assign(new Error(message), { returnCode: returnCode as AuthenticateError['returnCode'] });

/**
 * The embedded Aedes broker with per-device credentials and topic ACLs. Aedes hooks are callback-style:
 * every path below calls its callback exactly once, also on error, or the client would hang.
 */
export class EmbeddedBroker implements MqttPort {
  private aedes!: Aedes;
  private server: Server | undefined;
  /** Each logged-in client's identity and publish verdicts: one lookup per message for both. */
  private readonly clients = new WeakMap<Client, LoggedIn>();
  /** Successful logins by `user\0secret`: reconnect storms must not cost an scrypt each. */
  private readonly verified = new Map<string, string>();
  private readonly devices: Map<string, DeviceCredential>;
  private readonly services: Map<string, string>;
  private readonly refused: Counter<'reason'>;
  private readonly clientIds: ClientIds;
  /** One line a minute per key: a device refused its id retries every few seconds; a payload that trips a handler. */
  private readonly limitedLog: RateLimitedLog;
  private readonly pins = new TapPins();
  /**
   * Messages counted since the last scrape, added to `campus_mqtt_messages_total` when it is collected: a prom-client
   * `inc` with a label builds the label hash and validates the labels each time, which on the broker's per-message
   * path cost about as much as the ACL check itself.
   */
  private messagesIn = 0;
  private messagesOut = 0;
  /** In-process handlers running now (see publish). */
  private delivering = 0;
  /** Filters held now by connected clients and in-process handlers (subscribe() below). */
  private readonly filters = new FilterIndex();
  private readonly limiter: BrokerLimiter;
  private readonly refusals: Refusals;
  port = 0;

  constructor(private readonly opts: BrokerOptions) {
    this.devices = new Map(opts.devices.map((d) => [d.id, d]));
    this.services = new Map(opts.services.map((s) => [s.username, s.secretHash]));
    this.clientIds = new ClientIds(reservedIds(opts.devices, opts.services), (id) => this.sessionStored(id));
    this.limitedLog = new RateLimitedLog(opts.log, Date.now);
    this.refused = new Counter({
      name: 'campus_mqtt_refused_total',
      help: 'MQTT connections, publishes and subscriptions refused, by reason',
      labelNames: ['reason'],
      registers: [opts.metrics],
    });
    const self = this;
    new Counter({
      name: 'campus_mqtt_messages_total',
      help: 'MQTT messages published through the embedded broker, by clients (in) or by the gateway',
      labelNames: ['direction'],
      registers: [opts.metrics],
      collect() {
        if (self.messagesIn > 0) this.inc({ direction: 'in' }, self.messagesIn);
        if (self.messagesOut > 0) this.inc({ direction: 'gateway' }, self.messagesOut);
        self.messagesIn = 0;
        self.messagesOut = 0;
      },
    });
    this.refusals = new Refusals(this.refused, opts.log);
    this.limiter = new BrokerLimiter(opts.limits ?? defaultBrokerLimits(), this.refusals);
    new Gauge({
      name: 'campus_mqtt_clients',
      help: 'Connected MQTT clients',
      registers: [opts.metrics],
      collect() {
        this.set(self.aedes && !self.aedes.closed ? self.aedes.connectedClients : 0);
      },
    });
  }

  get running(): boolean {
    return this.server?.listening === true && !this.aedes.closed;
  }

  async start(): Promise<void> {
    const { log } = this.opts;
    // mqtt-packet (shared by Aedes and mqtt.js) otherwise pre-builds a Buffer for each of the 65,536 packet ids on
    // first use: ~7 MB and 65k objects that every full GC marks again, for a saving of a few bytes per packet.
    mqttPacket.writeToStream.cacheNumbers = false;
    this.aedes = await Aedes.createBroker({
      drainTimeout: this.opts.drainTimeoutMs,
      maxTopicLevels: this.opts.maxTopicLevels,
      connectTimeout: this.limiter.aedesConnectTimeoutMs,
      authenticate: (client, username, password, done) => {
        this.limiter.login(client, () => this.authenticate(client, username, password)).then(
          (identity) => {
            const claim = this.clientIds.hold(client, identity);
            if (!claim.ok) {
              this.refused.inc({ reason: 'client_id_taken' });
              this.limitedLog.warn(`client id ${client.id}`, { clientId: client.id, username, reason: claim.reason }, 'mqtt client id belongs to another login');
              return done(authError(`client id ${client.id} belongs to another login (${claim.reason})`, 5), false);
            }
            this.pins.stripWill(client);
            this.clients.set(client, loggedIn(identity, this.limiter.publishBudget(identity)));
            done(null, true);
          },
          (err: Error) => {
            done(authError(err.message, this.limiter.loginRefused(client, username, err)), false);
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        // Before Aedes stores, queues or routes anything of it (also a will, published with client null).
        this.stripPin(packet);
        if (!client) return done(null); // published by the gateway itself
        const state = this.clients.get(client);
        const verdict = state ? state.verdicts.get(packet.topic, state.decide) : mayPublish(ANONYMOUS, packet.topic);
        if (verdict.ok) {
          if (state?.budget && !state.budget.take(publishCost(packet.topic, packet.payload))) {
            this.onRouted(packet); // not routed anywhere it could be read: its PIN goes now
            this.limiter.overRate(client, packet.topic);
            packet.topic = DROPPED_TOPIC;
            packet.payload = EMPTY;
            packet.retain = false;
            return done(null);
          }
          this.messagesIn++;
          if (packet.retain) this.limiter.retained(client, state?.who ?? ANONYMOUS, packet);
          return done(null);
        }
        this.onRouted(packet); // not routed at all: its PIN goes now
        this.refusals.refuse('publish', this.refusalFields(client, packet.topic, verdict.reason), 'mqtt publish refused');
        done(new Error(`publish to ${packet.topic} refused: ${verdict.reason}`));
      },
      authorizeSubscribe: (client, sub, done) => {
        const who = this.clients.get(client)?.who ?? ANONYMOUS;
        const verdict = maySubscribe(who, sub.topic);
        if (verdict.ok) return done(null, this.limiter.subscription(client, who, sub.topic) ? sub : null);
        this.refusals.refuse('subscribe', this.refusalFields(client, sub.topic, verdict.reason), 'mqtt subscribe refused');
        done(null, null); // SUBACK failure for this filter; the client stays connected
      },
    });
    if (this.pins.waiting) this.watchRouted(true); // a tap the gateway published before the broker started
    // Everything that can add or drop a client's filter. 'client' comes after a persistent session's
    // subscriptions are restored, which emits no 'subscribe'; it also means the client's login is through.
    this.aedes
      .on('subscribe', (subs, client) => {
        if (!client.closed) this.filters.addFor(client, subs.filter((s) => (s.qos as number) !== 0x80).map((s) => s.topic));
      })
      .on('unsubscribe', (filters, client) => {
        this.filters.removeFor(client, filters);
        this.limiter.unsubscribed(client, filters);
      })
      .on('client', (client) => {
        this.limiter.loggedIn(client);
        // Aedes' table of the client's filters is not in its typings.
        this.filters.addFor(client, Object.keys((client as Client & { subscriptions?: object }).subscriptions ?? {}));
      })
      .on('clientDisconnect', (client) => this.filters.removeAllFor(client));
    this.aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
    this.aedes.on('connectionError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'mqtt connection error'));
    // Nagle off: decisions and acks are small packets that must leave now, not after the next ACK (~40 ms).
    this.server = createServer((socket) => {
      socket.setNoDelay(true);
      this.limiter.admit(socket, socket.remoteAddress, (s) => this.aedes.handle(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port, this.opts.host, () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /**
   * Takes a tap's PIN out (tap-pin.ts) and, while any stripped tap is being routed, watches Aedes' 'publish' event
   * (routed, in-process subscribers served) to let its PIN go. Only then: a listener there runs for every message.
   */
  private stripPin(packet: { topic: string; payload: Buffer | string }): void {
    if (this.pins.strip(packet) && !this.routedWatched && this.aedes) this.watchRouted(true);
  }

  private routedWatched = false;

  private readonly onRouted = (packet: { payload: unknown }): void => {
    this.pins.routed(packet.payload);
    if (!this.pins.waiting) this.watchRouted(false);
  };

  private watchRouted(on: boolean): void {
    if (on === this.routedWatched) return;
    this.routedWatched = on;
    if (on) this.aedes.on('publish', this.onRouted);
    else this.aedes.off('publish', this.onRouted);
  }

  /** Whether Aedes still keeps a persistent session (subscriptions) for a client id. */
  private async sessionStored(clientId: string): Promise<boolean> {
    const persistence: unknown = (this.aedes as unknown as { persistence?: unknown }).persistence;
    const bySubs = (persistence as { subscriptionsByClient?: unknown } | undefined)?.subscriptionsByClient;
    if (typeof bySubs !== 'function') return true; // cannot tell: keep the binding
    const subs: unknown = await (bySubs as (c: { id: string }) => Promise<unknown>).call(persistence, { id: clientId });
    return !Array.isArray(subs) || subs.length > 0;
  }

  /** A refused publish or filter as logged: one line a minute per address (refusals.ts), the topic cut short. */
  private refusalFields(client: Client, topic: string, why: string): Record<string, unknown> {
    return { address: this.limiter.addressOf(client), clientId: client.id, topic: topic.slice(0, 200), why };
  }

  /** For MQTT over WebSocket: the HTTP server hands over upgraded streams. */
  handle(stream: Duplex, req?: IncomingMessage): void {
    this.limiter.admit(stream, req?.socket.remoteAddress, (s) => this.aedes.handle(s, req));
  }

  /** The largest WebSocket frame MQTT over WebSocket needs (the HTTP server's `maxPayload`). */
  get maxFrameBytes(): number {
    return this.limiter.maxFrameBytes;
  }

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<Identity> {
    if (!username) {
      if (this.opts.allowAnonymous) return { kind: 'anonymous' };
      throw new Error('anonymous clients are not allowed');
    }
    const device = this.devices.get(username);
    const serviceHash = this.services.get(username);
    const hash = device?.secretHash ?? serviceHash;
    if (!hash || !password) throw new Error(hash ? 'no password' : `unknown device ${username}`);
    const key = `${username}\0${password.toString('utf8')}`;
    if (this.verified.get(key) !== hash) {
      if (!(await verifySecret(password.toString('utf8'), hash))) throw new Error('wrong password');
      this.verified.set(key, hash);
    }
    void client;
    return device ? { kind: 'device', id: device.id, grants: device.grants } : { kind: 'service', id: username };
  }

  publish(topic: string, payload: string | Buffer | object, opts: PublishOptions = {}): Promise<void> {
    const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
    const packet: PublishPacket = { cmd: 'publish', topic, payload: buf, qos: opts.qos ?? 0, retain: opts.retain ?? false, dup: false };
    this.stripPin(packet); // a tap published by the gateway (a Node-RED flow) follows the same rule
    if (packet.retain) this.limiter.gatewayRetained(topic, buf.length);
    return new Promise((resolve, reject) => {
      const send = (): void => {
        if (!this.aedes || this.aedes.closed) return reject(new Error('broker is closed'));
        this.messagesOut++;
        this.aedes.publish(packet, (err) => (err ? reject(err) : resolve()));
      };
      // Published from inside the delivery of a client's message (a tap's mirrored events), it would reach the other
      // subscribers first, and Aedes then drops the older message for any client that got the newer one (its
      // per-client de-duplication counts up): a client on campus/# would lose the taps themselves. After the turn.
      if (this.delivering > 0) setImmediate(send);
      else send();
    });
  }

  /**
   * Whether a connected client or an in-process handler has a filter matching `topic` now. The bus mirror asks
   * before it builds anything: nobody could receive a QoS 0 event nobody subscribes to, and encoding it and passing
   * it through the broker is most of what an event costs on a busy gate.
   */
  hasSubscriber(topic: string): boolean {
    return this.filters.matches(topic);
  }

  subscribe(filter: string, handler: MessageHandler, opts: SubscribeOptions = {}): Promise<() => Promise<void>> {
    const deliver = (packet: { topic: string; payload: Buffer | string }, cb: () => void): void => {
      this.delivering++;
      try {
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        handler(packet.topic, opts.tapPin ? this.pins.original(payload) : payload);
      } catch (err) {
        // A payload that trips a handler's bug can come fifty times a second: one line a minute per subscription.
        this.limitedLog.error(`handler ${filter}`, { err, topic: packet.topic }, 'mqtt handler failed');
      } finally {
        this.delivering--;
      }
      cb();
    };
    const hold = (delta: 1 | -1): void => (delta > 0 ? this.filters.add(filter) : this.filters.remove(filter));
    return new Promise((resolve) => {
      this.aedes.subscribe(filter, deliver, () => {
        hold(1);
        let held = true;
        resolve(() => {
          if (held) hold(-1);
          held = false;
          return new Promise<void>((done) => (this.aedes.closed ? done() : this.aedes.unsubscribe(filter, deliver, done)));
        });
      });
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.aedes && !this.aedes.closed ? this.aedes.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.server?.listening ? this.server.close(() => resolve()) : resolve()));
  }
}
